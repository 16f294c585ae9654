"""What counts as "this module knows about X": patterns over a module's words (source.py), shared by
the facts (coupling.py) and the change impact (impact.py). Comments and docstrings never match: only
identifiers and string literals do.
"""

from __future__ import annotations

import ast
import re

from shopctl.compare.source import SourceModule

AWS_SDK = ("boto3", "botocore")
# DynamoDB's API and wire format, as the code spells it: client/resource methods, request and response
# fields, attribute-type descriptors ("S", "N") and its error codes. Matched against identifiers and
# string literals as whole words.
DYNAMODB = re.compile(
    r"^(dynamodb|put_item|get_item|delete_item|update_item|transact_write_items|batch_get_item|batch_write_item"
    r"|TableName|Item|Items|Key|IndexName|KeyConditionExpression|ConditionExpression|ExpressionAttributeValues"
    r"|ExclusiveStartKey|LastEvaluatedKey|ConsistentRead|TransactItems"
    r"|ConditionalCheckFailedException|ConditionalCheckFailed|ValidationException)$"
)
DYNAMODB_TYPES = re.compile(r"^(S|N|BOOL|SS|NS)$")  # {"S": "..."}: only as string literals
RUNTIME = re.compile(r"\bRUNTIMES?\b")
CONFIG_LOCATION_LITERAL = re.compile(r"(^|/)table$|_TABLE$|^SSM_PREFIX$|^CONFIG_FILE$|config\.json$")
CONFIG_LOCATION_NAME = re.compile(r"SSM_PREFIX|CONFIG_FILE|[A-Z]_TABLE$")


def reads_environment(module: SourceModule) -> bool:
    from_os = {
        alias.asname or alias.name
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ImportFrom) and node.module == "os"
        for alias in node.names
        if alias.name in ("environ", "getenv")
    }
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
        if isinstance(node, ast.Name) and node.id in from_os:
            return True
    return False


def dynamodb_lines(module: SourceModule) -> set[int]:
    """The code lines that use DynamoDB's API or wire format."""
    return module.lines_matching(DYNAMODB) | module.lines_matching(DYNAMODB_TYPES, identifiers=False)


# --- one runtime's configuration source ---------------------------------------------------------------

RUNTIME_NAMES = ("LAMBDA", "ECS", "EKS")
# How code that exists *for* one runtime spells it: identifiers, matched on their word parts
# (DEFAULT_SSM_PREFIX -> default_ssm_prefix, ECSConfigAdapter -> ecs_config_adapter), and string literals.
RUNTIME_MARKERS = {
    "ECS": (re.compile(r"(^|_)(ecs|ssm|parameter)(_|$)"), re.compile(r"\bECS\b|^ssm$|SSM_PREFIX")),
    "EKS": (re.compile(r"(^|_)(eks|config_file)(_|$)"), re.compile(r"\bEKS\b|CONFIG_FILE|config\.json$")),
}


def runtime_lines(module: SourceModule, runtime: str) -> set[int]:
    """Code lines naming `runtime` or its configuration source (SSM for ECS, the mounted file for EKS)."""
    names, literals = RUNTIME_MARKERS[runtime]
    lines = {
        line
        for word in module.words
        if not word.literal and names.search("_".join(identifier_parts(word.text)))
        for line in word.lines
    }
    return (lines & module.code_lines) | module.lines_matching(literals, identifiers=False)


def compares_to_runtime(test: ast.expr, runtimes: tuple[str, ...] = RUNTIME_NAMES) -> bool:
    """Is this `if` test a comparison with a runtime name (`runtime == "ECS"`)?"""
    for node in ast.walk(test):
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Constant) and side.value in runtimes:
                    return True
    return False


# --- another database, another entity ------------------------------------------------------------------

SQLITE = re.compile(r"sqlite", re.IGNORECASE)
_WORD_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def identifier_parts(identifier: str) -> list[str]:
    """`ORDERS_BY_USER_INDEX` -> orders, by, user, index; `OrderRepository` -> order, repository."""
    return [part.lower() for part in _WORD_PARTS.findall(identifier)]


def entity_lines(module: SourceModule, entity: str) -> set[int]:
    """Code lines naming `entity` ("orders"): an identifier part order/orders, or the word in a literal."""
    singular = entity.removesuffix("s")
    forms = {singular, entity}
    literal = re.compile(rf"\b{re.escape(singular)}s?\b", re.IGNORECASE)
    lines = {
        line
        for word in module.words
        if not word.literal and forms & set(identifier_parts(word.text))
        for line in word.lines
    }
    return (lines & module.code_lines) | module.lines_matching(literal, identifiers=False)
