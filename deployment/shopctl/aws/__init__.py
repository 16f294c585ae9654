"""AWS resources the targets share: tables and configuration, IAM roles, tags, the container image,
the account a deployment goes to, the record of what it created (`state`) and the census of what AWS holds."""
