"""AWS resources more than one target creates: tables and configuration, IAM roles, log groups, the ECR repository
and the container image, the Lambda artifact bucket, tags; the record of what a deployment created (`state`)
and the census of what AWS holds."""
