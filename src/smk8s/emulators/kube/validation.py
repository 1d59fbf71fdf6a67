"""Object metadata, name and CustomResourceDefinition validation as every kube-apiserver applies it.

Pure functions returning :class:`~smk8s.emulators.kube.errors.Cause` lists, each built as upstream's
``field.Error`` renders into a ``StatusCause``: ``field`` is the dotted path (``metadata.name``) and
``message`` is ``ErrorBody()`` - the error type's text, the bad value (Go ``%q`` for strings, JSON otherwise)
and the detail, e.g.
``Invalid value: "Foo_bar": a lowercase RFC 1123 subdomain must consist of ...``. Hand the list to
``errors.invalid`` for the 422 ``Status``.

Sources (kubernetes/kubernetes, staging/src/k8s.io/...):

- apimachinery/pkg/util/validation/validation.go - DNS-1123/1035 names (messages with "characters");
- apimachinery/pkg/api/validate/content/{kube,dns,path,errors}.go - label keys/values (messages with "bytes");
- apimachinery/pkg/api/validation/{objectmeta,generic}.go - ``ValidateObjectMeta[Update]``,
  ``maskTrailingDash``;
- apimachinery/pkg/util/validation/field/errors.go - ``ErrorBody`` wording;
- apiserver/pkg/storage/names/generate.go and apimachinery/pkg/util/rand - ``SimpleNameGenerator``;
- apiserver/pkg/registry/rest/create.go - the request-namespace check;
- apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go - CRDs (non-schema parts).
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from smk8s.emulators.kube.errors import (
    FIELD_DUPLICATE,
    FIELD_FORBIDDEN,
    FIELD_INVALID,
    FIELD_NOT_SUPPORTED,
    FIELD_REQUIRED,
    FIELD_TOO_LONG,
    FIELD_TOO_MANY,
    Cause,
    bad_request,
)

# ------------------------------------------------------------------------------------------------------------
# Rendering field errors (field/errors.go ErrorBody)
# ------------------------------------------------------------------------------------------------------------

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}


def go_quote(text: str) -> str:
    """``text`` as Go's ``strconv.Quote`` (``%q``) writes it: printable Unicode kept, the rest escaped."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch == " " or (ch.isprintable() and unicodedata.category(ch) not in ("Zs", "Zl", "Zp")):
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def render_value(value: Any) -> str:
    """A bad value as ``ErrorBody`` prints it: ``%q`` for strings, ``%v`` for numbers/bools, else JSON."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _with_detail(head: str, detail: str) -> str:
    return f"{head}: {detail}" if detail else head


def invalid_cause(field: str, value: Any, detail: str) -> Cause:
    """``field.Invalid``: ``Invalid value: <value>: <detail>``."""
    return Cause(FIELD_INVALID, _with_detail(f"Invalid value: {render_value(value)}", detail), field)


def required_cause(field: str, detail: str = "") -> Cause:
    """``field.Required``: ``Required value[: <detail>]``."""
    return Cause(FIELD_REQUIRED, _with_detail("Required value", detail), field)


def forbidden_cause(field: str, detail: str) -> Cause:
    """``field.Forbidden``: ``Forbidden: <detail>``."""
    return Cause(FIELD_FORBIDDEN, _with_detail("Forbidden", detail), field)


def too_long_cause(field: str, max_bytes: int) -> Cause:
    """``field.TooLong``: ``Too long: may not be more than <n> bytes`` (the value is never shown)."""
    unit = "byte" if max_bytes == 1 else "bytes"
    return Cause(FIELD_TOO_LONG, f"Too long: may not be more than {max_bytes} {unit}", field)


def too_many_cause(field: str, actual: int, maximum: int) -> Cause:
    """``field.TooMany``: ``Too many: <actual>: must have at most <max> items``."""
    unit = "item" if maximum == 1 else "items"
    return Cause(FIELD_TOO_MANY, f"Too many: {actual}: must have at most {maximum} {unit}", field)


def not_supported_cause(field: str, value: Any, supported: Sequence[str]) -> Cause:
    """``field.NotSupported``: ``Unsupported value: <value>: supported values: "a", "b"``."""
    detail = "supported values: " + ", ".join(go_quote(s) for s in supported) if supported else ""
    message = _with_detail(f"Unsupported value: {render_value(value)}", detail)
    return Cause(FIELD_NOT_SUPPORTED, message, field)


def duplicate_cause(field: str, value: Any) -> Cause:
    """``field.Duplicate``: ``Duplicate value: <value>``."""
    return Cause(FIELD_DUPLICATE, f"Duplicate value: {render_value(value)}", field)


# ------------------------------------------------------------------------------------------------------------
# String formats (util/validation and api/validate/content)
# ------------------------------------------------------------------------------------------------------------

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + "(\\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + LABEL_KEY_FMT + ")?"

_DNS1123_LABEL_RE = re.compile(DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(DNS1035_LABEL_FMT)
_LABEL_KEY_RE = re.compile(LABEL_KEY_FMT)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_FMT)

_DNS1123_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                      "and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                          "characters, '-' or '.', and must start and end with an alphanumeric character")
_DNS1035_LABEL_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                      "with an alphabetic character, and end with an alphanumeric character")
_LABEL_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                  "alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
                    "or '.', and must start and end with an alphanumeric character")

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
LABEL_NAME_MAX = 63
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """``RegexError``: the message, the examples (with Go's odd ``',  or '`` joins) and the regex."""
    if not examples:
        return f"{message} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len_chars(n: int) -> str:
    # util/validation.MaxLenError (object names, namespaces, CRD names).
    return f"must be no more than {n} characters"


def _max_len_bytes(n: int) -> str:
    # api/validate/content.MaxLenError (label keys and values).
    return f"must be no more than {n} bytes"


def _full(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


def is_dns1123_label(value: str) -> list[str]:
    """``IsDNS1123Label``: what is wrong with ``value`` as a lowercase RFC 1123 label (empty list: valid)."""
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(_max_len_chars(DNS1123_LABEL_MAX))
    if not _full(_DNS1123_LABEL_RE, value):
        if _full(_DNS1123_SUBDOMAIN_RE, value):
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(_DNS1123_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str, *, bytes_unit: bool = False) -> list[str]:
    """``IsDNS1123Subdomain``; ``bytes_unit`` picks the content package's length wording (label prefixes)."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        too_long = _max_len_bytes if bytes_unit else _max_len_chars
        errs.append(too_long(DNS1123_SUBDOMAIN_MAX))
    if not _full(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(regex_error(_DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """``IsDNS1035Label`` (CRD names, versions, short names, categories)."""
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(_max_len_chars(DNS1123_LABEL_MAX))
    if not _full(_DNS1035_LABEL_RE, value):
        errs.append(regex_error(_DNS1035_LABEL_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_label_key(value: str) -> list[str]:
    """``IsLabelKey`` (qualified name): ``[prefix/]name``, prefix a DNS subdomain, name at most 63 bytes."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix, bytes_unit=True)]
    else:
        return [
            "a valid label key "
            + regex_error(_LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name.encode()) > LABEL_NAME_MAX:
        errs.append("name part " + _max_len_bytes(LABEL_NAME_MAX))
    if not _full(_LABEL_KEY_RE, name):
        errs.append("name part " + regex_error(_LABEL_KEY_MSG, LABEL_KEY_FMT, "MyName", "my.name", "123-abc"))
    return errs


is_qualified_name = is_label_key


def is_label_value(value: str) -> list[str]:
    """``IsLabelValue``: empty, or at most 63 bytes of ``[-A-Za-z0-9_.]`` starting and ending alphanumeric."""
    errs = []
    if len(value.encode()) > LABEL_NAME_MAX:
        errs.append(_max_len_bytes(LABEL_NAME_MAX))
    if not _full(_LABEL_VALUE_RE, value):
        errs.append(regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_path_segment_name(value: str) -> list[str]:
    """``IsPathSegmentName``: not ``.``/``..``, no ``/`` or ``%`` (RBAC names; no length or charset limit)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


# ------------------------------------------------------------------------------------------------------------
# Name rules
# ------------------------------------------------------------------------------------------------------------

NAME_SUBDOMAIN = "subdomain"
NAME_LABEL = "label"
NAME_PATH_SEGMENT = "path_segment"

NameValidator = Callable[[str, bool], list[str]]


def _mask_trailing_dash(name: str) -> str:
    # generic.go maskTrailingDash: upstream replaces the last *two* characters with "a" (sic).
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSSubdomain``: most resources (ConfigMaps, Secrets, ServiceAccounts, Leases, CRDs, CRs)."""
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSLabel``: Namespaces."""
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_path_segment(name: str, prefix: bool) -> list[str]:
    """``ValidateRBACName``: Roles, ClusterRoles and their bindings (``system:controller:x`` is valid)."""
    return is_path_segment_name(name)


_NAME_VALIDATORS: dict[str, NameValidator] = {
    NAME_SUBDOMAIN: name_is_dns_subdomain,
    NAME_LABEL: name_is_dns_label,
    NAME_PATH_SEGMENT: name_is_path_segment,
}


def name_validator(rule: str) -> NameValidator:
    """The validator of a name rule (``subdomain``, ``label``, ``path_segment``); ``KeyError`` if unknown."""
    return _NAME_VALIDATORS[rule]


def validate_namespace_name(name: str, prefix: bool = False) -> list[str]:
    """``ValidateNamespaceName``: messages for ``name`` as a namespace (a DNS-1123 label)."""
    return name_is_dns_label(name, prefix)


def validate_generate_name_with(generate_name: str, name_fn: NameValidator) -> list[Cause]:
    """Causes for ``metadata.generateName``, checked by ``name_fn`` as a prefix (a trailing ``-`` is fine)."""
    if not generate_name:
        return []
    return [invalid_cause("metadata.generateName", generate_name, m) for m in name_fn(generate_name, True)]


def validate_generate_name(generate_name: str, name_rule: str) -> list[Cause]:
    """Causes for ``metadata.generateName`` under a name rule (``subdomain``, ``label``, ``path_segment``)."""
    return validate_generate_name_with(generate_name, name_validator(name_rule))


@dataclass(frozen=True)
class MetaPolicy:
    """How a resource's ``metadata`` is validated by its registry strategy.

    ``revalidate_on_update``: the strategy's ``ValidateUpdate`` also re-runs the create-time checks (name
    syntax, finalizer names, ...), as the core and RBAC types do; CRs, CRDs, Namespaces and Leases only apply
    ``ValidateObjectMetaUpdate``.
    """

    name_rule: str
    revalidate_on_update: bool


_META_POLICIES: dict[tuple[str, str], MetaPolicy] = {
    ("", "namespaces"): MetaPolicy(NAME_LABEL, False),
    ("", "configmaps"): MetaPolicy(NAME_SUBDOMAIN, True),
    ("", "secrets"): MetaPolicy(NAME_SUBDOMAIN, True),
    ("", "serviceaccounts"): MetaPolicy(NAME_SUBDOMAIN, True),
    ("events.k8s.io", "events"): MetaPolicy(NAME_SUBDOMAIN, False),
    ("coordination.k8s.io", "leases"): MetaPolicy(NAME_SUBDOMAIN, False),
    ("apiextensions.k8s.io", "customresourcedefinitions"): MetaPolicy(NAME_SUBDOMAIN, False),
    ("rbac.authorization.k8s.io", "roles"): MetaPolicy(NAME_PATH_SEGMENT, True),
    ("rbac.authorization.k8s.io", "clusterroles"): MetaPolicy(NAME_PATH_SEGMENT, True),
    ("rbac.authorization.k8s.io", "rolebindings"): MetaPolicy(NAME_PATH_SEGMENT, True),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): MetaPolicy(NAME_PATH_SEGMENT, True),
}


def meta_policy_for(group: str, plural: str, *, is_custom: bool = False) -> MetaPolicy | None:
    """The metadata rules of a resource, or ``None`` where upstream validates no ``ObjectMeta`` at all.

    ``None`` is returned for core ``v1`` Events: ``ValidateEventCreate`` skips ``ValidateObjectMeta`` for the
    legacy API "for backwards compatibility" (pkg/apis/core/validation/events.go). Unknown built-ins and
    custom resources use DNS-subdomain names (customresource strategy: ``NameIsDNSSubdomain``).
    """
    if is_custom:
        return MetaPolicy(NAME_SUBDOMAIN, False)
    if (group, plural) == ("", "events"):
        return None
    return _META_POLICIES.get((group, plural), MetaPolicy(NAME_SUBDOMAIN, False))


# ------------------------------------------------------------------------------------------------------------
# ObjectMeta
# ------------------------------------------------------------------------------------------------------------

FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"
IMMUTABLE_MSG = "field is immutable"
_IMMUTABLE_META = ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                   "deletionGracePeriodSeconds")
_BANNED_OWNERS = {("", "v1", "Event")}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    return _dict(obj.get("metadata"))


def _parse_api_version(api_version: str) -> tuple[str, str] | None:
    """``schema.ParseGroupVersion``: (group, version), ``None`` when malformed (more than one ``/``)."""
    if not api_version:
        return ("", "")
    if api_version == "v1":
        return ("", "v1")
    parts = api_version.split("/")
    if len(parts) == 1:
        return ("", parts[0])
    if len(parts) == 2:
        return (parts[0], parts[1])
    return None


def _owner_reference_json(ref: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: _str(ref.get(k)) for k in ("apiVersion", "kind", "name", "uid")}
    for k in ("controller", "blockOwnerDeletion"):
        if ref.get(k) is not None:
            out[k] = ref[k]
    return out


def validate_labels(labels: Mapping[str, Any], field: str = "metadata.labels") -> list[Cause]:
    """``ValidateLabels``: each key a qualified name, each value a label value; all reported on ``field``."""
    causes: list[Cause] = []
    for key in sorted(labels):  # Go iterates maps randomly; sorted keeps our answers stable.
        value = _str(labels[key])
        causes += [invalid_cause(field, key, m) for m in is_label_key(key)]
        causes += [invalid_cause(field, value, m) for m in is_label_value(value)]
    return causes


def annotations_size(annotations: Mapping[str, Any]) -> int:
    """Total bytes of keys and values, the quantity limited to 262144 (``TotalAnnotationSizeLimitB``)."""
    return sum(len(k.encode()) + len(_str(v).encode()) for k, v in annotations.items())


def validate_annotations(annotations: Mapping[str, Any], field: str = "metadata.annotations") -> list[Cause]:
    """``ValidateAnnotations``: keys qualified names (case-insensitive), total size at most 256 KiB."""
    causes: list[Cause] = []
    for key in sorted(annotations):
        causes += [invalid_cause(field, key, m) for m in is_label_key(key.lower())]
    if annotations_size(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long_cause(field, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def validate_owner_references(refs: Sequence[Any], field: str = "metadata.ownerReferences") -> list[Cause]:
    """``ValidateOwnerReferences``: apiVersion/kind/name/uid set, no Event owners, at most one controller.

    As upstream, the per-reference paths carry no index (``metadata.ownerReferences.uid``).
    """
    causes: list[Cause] = []
    first_controller = ""
    for raw in refs:
        ref = _dict(raw)
        api_version, kind = _str(ref.get("apiVersion")), _str(ref.get("kind"))
        group_version = _parse_api_version(api_version)
        group, version = group_version if group_version else ("", "")
        if not version:
            causes.append(invalid_cause(f"{field}.apiVersion", api_version, "version must not be empty"))
        if not kind:
            causes.append(invalid_cause(f"{field}.kind", kind, "must not be empty"))
        for key in ("name", "uid"):
            if not _str(ref.get(key)):
                causes.append(invalid_cause(f"{field}.{key}", _str(ref.get(key)), "must not be empty"))
        if (group, version, kind) in _BANNED_OWNERS:
            causes.append(invalid_cause(field, _owner_reference_json(ref),
                                        f"{group}/{version}, Kind={kind} is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{_str(ref.get('name'))}"
            if first_controller:
                detail = ('Only one reference can have Controller set to true. Found "true" in references '
                          f"for {first_controller} and {current}")
                causes.append(invalid_cause(field, [_owner_reference_json(_dict(r)) for r in refs], detail))
            else:
                first_controller = current
    return causes


def validate_finalizers(finalizers: Sequence[Any], field: str = "metadata.finalizers") -> list[Cause]:
    """``ValidateFinalizers``: qualified names; ``orphan`` and ``foregroundDeletion`` exclude each other."""
    causes: list[Cause] = []
    names = [_str(f) for f in finalizers]
    for name in names:
        causes += [invalid_cause(field, name, m) for m in is_label_key(name)]
    if FINALIZER_ORPHAN in names and FINALIZER_FOREGROUND in names:
        detail = f"finalizer {FINALIZER_ORPHAN} and {FINALIZER_FOREGROUND} cannot be both set"
        causes.append(invalid_cause(field, names, detail))
    return causes


def finalizer_warnings(obj: Mapping[str, Any]) -> list[str]:
    """Warnings kube-apiserver returns for custom resources whose finalizers lack a ``domain/path`` form.

    Approximates the customresource strategy's ``WarningsOnCreate/Update`` (the exact rule was not confirmed):
    a finalizer without ``/`` that is not ``orphan``/``foregroundDeletion`` draws the warning.
    """
    out = []
    for name in (_str(f) for f in _list(_metadata(obj).get("finalizers"))):
        if "/" in name or name in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND) or is_label_key(name):
            continue
        out.append(f"metadata.finalizers: {go_quote(name)}: prefer a domain-qualified finalizer name "
                   "including a path (/) to avoid accidental conflicts with other finalizer writers")
    return out


def validate_managed_fields(entries: Sequence[Any], field: str = "metadata.managedFields") -> list[Cause]:
    """``ValidateManagedFields``: operation ``Apply``/``Update``, fieldsType ``FieldsV1``, bounded sizes."""
    causes: list[Cause] = []
    for i, raw in enumerate(entries):
        entry, path = _dict(raw), f"{field}[{i}]"
        operation = _str(entry.get("operation"))
        if operation not in ("Apply", "Update"):
            causes.append(invalid_cause(f"{path}.operation", operation, "must be `Apply` or `Update`"))
        fields_type = _str(entry.get("fieldsType"))
        if fields_type and fields_type != "FieldsV1":
            causes.append(invalid_cause(f"{path}.fieldsType", fields_type, "must be `FieldsV1`"))
        manager = _str(entry.get("manager"))
        if len(manager.encode()) > 128:
            causes.append(too_long_cause(f"{path}.manager", 128))
        if len(_str(entry.get("subresource")).encode()) > 256:
            causes.append(too_long_cause(f"{path}.subresource", 256))
    return causes


def _validate_generation(meta: Mapping[str, Any]) -> list[Cause]:
    generation = meta.get("generation")
    if isinstance(generation, int) and not isinstance(generation, bool) and generation < 0:
        return [invalid_cause("metadata.generation", generation, "must be greater than or equal to 0")]
    return []


def _validate_meta_create(meta: Mapping[str, Any], namespaced: bool, name_fn: NameValidator) -> list[Cause]:
    """``ValidateObjectMetaAccessor``: the create-time rules, in upstream's order."""
    causes: list[Cause] = []
    generate_name, name = _str(meta.get("generateName")), _str(meta.get("name"))
    if generate_name:
        causes += validate_generate_name_with(generate_name, name_fn)
    if not name:
        causes.append(required_cause("metadata.name", "name or generateName is required"))
    else:
        causes += [invalid_cause("metadata.name", name, m) for m in name_fn(name, False)]
    namespace = _str(meta.get("namespace"))
    if namespaced:
        if not namespace:
            causes.append(required_cause("metadata.namespace"))
        else:
            causes += [invalid_cause("metadata.namespace", namespace, m)
                       for m in validate_namespace_name(namespace)]
    elif namespace:
        causes.append(forbidden_cause("metadata.namespace", "not allowed on this type"))
    causes += _validate_generation(meta)
    causes += validate_labels(_dict(meta.get("labels")))
    causes += validate_annotations(_dict(meta.get("annotations")))
    causes += validate_owner_references(_list(meta.get("ownerReferences")))
    causes += validate_finalizers(_list(meta.get("finalizers")))
    causes += validate_managed_fields(_list(meta.get("managedFields")))
    return causes


def _validate_meta_update(meta: Mapping[str, Any], old_meta: Mapping[str, Any]) -> list[Cause]:
    """``ValidateObjectMetaAccessorUpdate`` (minus the ``resourceVersion`` check, which the store makes)."""
    causes: list[Cause] = []
    if old_meta.get("deletionTimestamp"):
        added = sorted({_str(f) for f in _list(meta.get("finalizers"))}
                       - {_str(f) for f in _list(old_meta.get("finalizers"))})
        if added:
            listed = "[]string{" + ", ".join(go_quote(f) for f in added) + "}"
            causes.append(forbidden_cause(
                "metadata.finalizers",
                "no new finalizers can be added if the object is being deleted, found new finalizers "
                + listed))
    new_gen, old_gen = meta.get("generation"), old_meta.get("generation")
    if isinstance(new_gen, int) and isinstance(old_gen, int) and new_gen < old_gen:
        causes.append(invalid_cause("metadata.generation", new_gen, "must not be decremented"))
    for key in _IMMUTABLE_META:
        new_value, old_value = meta.get(key), old_meta.get(key)
        if key in ("name", "namespace", "uid"):
            new_value, old_value = _str(new_value), _str(old_value)
        if new_value != old_value:
            causes.append(invalid_cause(f"metadata.{key}", new_value, IMMUTABLE_MSG))
    causes += validate_labels(_dict(meta.get("labels")))
    causes += validate_annotations(_dict(meta.get("annotations")))
    causes += validate_owner_references(_list(meta.get("ownerReferences")))
    causes += validate_managed_fields(_list(meta.get("managedFields")))
    return causes


def validate_object_meta_with(
    obj: Mapping[str, Any],
    *,
    namespaced: bool,
    name_fn: NameValidator,
    is_create: bool,
    old: Mapping[str, Any] | None = None,
    revalidate_on_update: bool = False,
) -> list[Cause]:
    """:func:`validate_object_meta` with an explicit validator ``name_fn(name, is_prefix) -> messages``."""
    meta = _metadata(obj)
    if is_create or old is None:
        return _validate_meta_create(meta, namespaced, name_fn)
    causes = _validate_meta_update(meta, _metadata(old))
    if revalidate_on_update:
        name = _str(meta.get("name"))
        causes += [invalid_cause("metadata.name", name, m) for m in name_fn(name, False)] if name else []
        causes += _validate_generation(meta)
        causes += validate_finalizers(_list(meta.get("finalizers")))
    return causes


def validate_object_meta(
    obj: Mapping[str, Any],
    *,
    namespaced: bool,
    name_rule: str,
    is_create: bool,
    old: Mapping[str, Any] | None = None,
    revalidate_on_update: bool = False,
) -> list[Cause]:
    """The ``metadata`` causes kube-apiserver reports for ``obj`` (empty list: valid).

    On create (``is_create`` or no ``old``): ``ValidateObjectMeta`` - generateName (as a prefix), name
    (required, ``name_rule``: ``subdomain``/``label``/``path_segment``), namespace (required and a DNS
    label when ``namespaced``, forbidden otherwise), generation, labels, annotations (keys and 256 KiB
    total), owner references, finalizers, managedFields. Expects name generation to have happened already.

    On update: ``ValidateObjectMetaUpdate`` against ``old`` - immutable name/namespace/uid/creationTimestamp/
    deletionTimestamp/deletionGracePeriodSeconds, no new finalizers once deleting, generation not decremented,
    labels, annotations, owner references, managedFields. ``revalidate_on_update`` adds the create-time name,
    generation and finalizer checks, as the core/RBAC strategies do (see :func:`meta_policy_for`).
    """
    return validate_object_meta_with(obj, namespaced=namespaced, name_fn=name_validator(name_rule),
                                     is_create=is_create, old=old, revalidate_on_update=revalidate_on_update)


NAMESPACE_MISMATCH_MSG = (
    "the namespace of the provided object does not match the namespace sent on the request"
)


def apply_request_namespace(obj: dict[str, Any], request_namespace: str, *, namespaced: bool) -> None:
    """Reconcile ``metadata.namespace`` with the URL's namespace as ``rest.BeforeCreate/BeforeUpdate`` do.

    Namespaced: an empty namespace is filled in; a different one raises 400 BadRequest (upstream's message).
    Cluster-scoped: any namespace is silently cleared.
    """
    meta = obj.setdefault("metadata", {})
    if not namespaced:
        meta.pop("namespace", None)
        return
    current = _str(meta.get("namespace"))
    if not current:
        meta["namespace"] = request_namespace
    elif request_namespace and current != request_namespace:
        raise bad_request(NAMESPACE_MISMATCH_MSG)


# ------------------------------------------------------------------------------------------------------------
# Name generation (names.SimpleNameGenerator)
# ------------------------------------------------------------------------------------------------------------

NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
NAME_SUFFIX_LENGTH = 5
MAX_GENERATED_PREFIX_LENGTH = 63 - NAME_SUFFIX_LENGTH


def generate_name(prefix: str, rand: random.Random) -> str:
    """``prefix`` cut to 58 characters plus 5 random characters from upstream's vowel-free alphabet."""
    suffix = "".join(rand.choice(NAME_SUFFIX_ALPHABET) for _ in range(NAME_SUFFIX_LENGTH))
    return prefix[:MAX_GENERATED_PREFIX_LENGTH] + suffix


# ------------------------------------------------------------------------------------------------------------
# CustomResourceDefinition (non-schema parts)
# ------------------------------------------------------------------------------------------------------------

PRINTER_COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
PRINTER_COLUMN_FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")
CRD_SCOPES = ("Cluster", "Namespaced")
CONVERSION_STRATEGIES = ("None", "Webhook")
CONVERSION_REVIEW_VERSIONS = ("v1", "v1beta1")
MAX_SELECTABLE_FIELDS = 8
API_APPROVAL_ANNOTATION = "api-approved.kubernetes.io"
_ENHANCEMENTS_PR = "see https://github.com/kubernetes/enhancements/pull/1111"
_APPROVAL_PREFIX = "protected groups must have approval annotation"


def _identical_non_empty(values: Sequence[Any]) -> bool:
    """``hasIdenticalPerVersion*``: every version sets the field, to the same value."""
    return bool(values) and all(v and v == values[0] for v in values)


def crd_lifted_fields(crd: Mapping[str, Any]) -> frozenset[str]:
    """Which per-version CRD fields v1->internal conversion lifts to ``spec`` (all versions identical).

    Returns a subset of ``{"schema", "subresources", "additionalPrinterColumns", "selectableFields"}``.
    Upstream validates the internal form, so errors in lifted fields are reported at
    ``spec.validation.openAPIV3Schema``, ``spec.subresources``, ``spec.additionalPrinterColumns[i]`` and
    ``spec.selectableFields[i]``.
    """
    versions = [_dict(v) for v in _list(_dict(crd.get("spec")).get("versions"))]
    candidates = ("schema", "subresources", "additionalPrinterColumns", "selectableFields")
    return frozenset(name for name in candidates if _identical_non_empty([v.get(name) for v in versions]))


def crd_schema_path(crd: Mapping[str, Any], version_index: int) -> str:
    """Where kube-apiserver reports errors in version ``version_index``'s ``openAPIV3Schema``.

    ``spec.validation.openAPIV3Schema`` when every version has the same schema (a single-version CRD always
    does), else ``spec.versions[i].schema.openAPIV3Schema``. For the schema validation module.
    """
    if "schema" in crd_lifted_fields(crd):
        return "spec.validation.openAPIV3Schema"
    return f"spec.versions[{version_index}].schema.openAPIV3Schema"


def _validate_simple_json_path(path: str, field: str) -> list[Cause]:
    if not path:
        return [invalid_cause(field, path, "must not be empty")]
    if not path.startswith("."):
        return [invalid_cause(field, path, "must be a simple json path starting with .")]
    return []


def _validate_subresources(subresources: Mapping[str, Any], field: str) -> list[Cause]:
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return []
    causes: list[Cause] = []
    for key, prefix, where in (("specReplicasPath", ".spec.", ".spec"),
                               ("statusReplicasPath", ".status.", ".status")):
        value, path = _str(scale.get(key)), f"{field}.scale.{key}"
        if not value:
            causes.append(required_cause(path))
        elif errs := _validate_simple_json_path(value, path):
            causes += errs
        elif not value.startswith(prefix):
            causes.append(invalid_cause(path, value, f"should be a json path under {where}"))
    selector = _str(scale.get("labelSelectorPath"))
    if selector:
        path = f"{field}.scale.labelSelectorPath"
        if errs := _validate_simple_json_path(selector, path):
            causes += errs
        elif not selector.startswith((".spec.", ".status.")):
            detail = "should be a json path under either .spec or .status"
            causes.append(invalid_cause(path, selector, detail))
    return causes


def _validate_printer_column(column: Mapping[str, Any], field: str) -> list[Cause]:
    causes: list[Cause] = []
    if not _str(column.get("name")):
        causes.append(required_cause(f"{field}.name"))
    col_type = _str(column.get("type"))
    types = "must be one of " + ",".join(PRINTER_COLUMN_TYPES)
    if not col_type:
        causes.append(required_cause(f"{field}.type", types))
    elif col_type not in PRINTER_COLUMN_TYPES:
        causes.append(invalid_cause(f"{field}.type", col_type, types))
    col_format = _str(column.get("format"))
    if col_format and col_format not in PRINTER_COLUMN_FORMATS:
        formats = "must be one of " + ",".join(PRINTER_COLUMN_FORMATS)
        causes.append(invalid_cause(f"{field}.format", col_format, formats))
    json_path = _str(column.get("jsonPath"))
    if not json_path:
        causes.append(required_cause(f"{field}.JSONPath"))
    else:
        causes += _validate_simple_json_path(json_path, f"{field}.JSONPath")
    return causes


def _validate_selectable_fields(selectable: Sequence[Any], field: str) -> list[Cause]:
    """The schema-independent part of ``ValidateCustomResourceSelectableFields``."""
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, raw in enumerate(selectable):
        path = f"{field}[{i}].jsonPath"
        json_path = _str(_dict(raw).get("jsonPath"))
        if not json_path:
            causes.append(required_cause(path))
            continue
        normalized = json_path.lstrip(".")
        if normalized.split(".")[0] == "metadata":
            causes.append(invalid_cause(path, json_path, "must not point to fields in metadata"))
        if normalized in seen:
            causes.append(duplicate_cause(path, json_path))
        seen.add(normalized)
    if len(seen) > MAX_SELECTABLE_FIELDS:
        causes.append(too_many_cause(field, len(seen), MAX_SELECTABLE_FIELDS))
    return causes


def _deprecation_warning_errors(version: Mapping[str, Any]) -> list[str]:
    if "deprecationWarning" not in version or version.get("deprecationWarning") is None:
        return []
    warning = _str(version.get("deprecationWarning"))
    if not version.get("deprecated"):
        return ["can only be set for deprecated versions"]
    errs = []
    if len(warning.encode()) > 256:
        errs.append("must be <= 256 characters long")
    if not warning:
        errs.append("must not be an empty string")
    for i, ch in enumerate(warning):
        if not ch.isprintable():
            errs.append("must only contain printable UTF-8 characters; "
                        f"non-printable character found at index {i}")
            break
    return errs


def validate_crd_names(names: Mapping[str, Any], field: str) -> list[Cause]:
    """``ValidateCustomResourceDefinitionNames`` for ``spec.names`` or ``status.acceptedNames``."""
    causes: list[Cause] = []
    for key in ("plural", "singular"):
        value = _str(names.get(key))
        if value and (errs := is_dns1035_label(value)):
            causes.append(invalid_cause(f"{field}.{key}", value, ",".join(errs)))
    for key in ("kind", "listKind"):
        value = _str(names.get(key))
        if value and (errs := is_dns1035_label(value.lower())):
            causes.append(invalid_cause(f"{field}.{key}", value,
                                        "may have mixed case, but should otherwise match: " + ",".join(errs)))
    for i, short in enumerate(_str(s) for s in _list(names.get("shortNames"))):
        if errs := is_dns1035_label(short):
            causes.append(invalid_cause(f"{field}.shortNames[{i}]", short, ",".join(errs)))
    kind = _str(names.get("kind"))
    if kind and kind == _str(names.get("listKind")):
        causes.append(invalid_cause(f"{field}.listKind", kind, "kind and listKind may not be the same"))
    for i, category in enumerate(_str(c) for c in _list(names.get("categories"))):
        if errs := is_dns1035_label(category):
            causes.append(invalid_cause(f"{field}.categories[{i}]", category, ",".join(errs)))
    return causes


def _validate_conversion(conversion: Mapping[str, Any], preserve_unknown: bool, field: str) -> list[Cause]:
    causes: list[Cause] = []
    strategy = _str(conversion.get("strategy"))
    if strategy and strategy != "None" and preserve_unknown:
        causes.append(invalid_cause(f"{field}.strategy", strategy,
                                    "must be None if spec.preserveUnknownFields is true"))
    if not strategy:
        causes.append(required_cause(f"{field}.strategy"))
    elif strategy not in CONVERSION_STRATEGIES:
        causes.append(not_supported_cause(f"{field}.strategy", strategy, CONVERSION_STRATEGIES))
    webhook = conversion.get("webhook")
    webhook = webhook if isinstance(webhook, dict) else None
    client_path = f"{field}.webhookClientConfig"
    if strategy == "Webhook":
        client_config = _dict(webhook.get("clientConfig")) if webhook else None
        if not client_config:
            causes.append(required_cause(client_path, "required when strategy is set to Webhook"))
        elif (client_config.get("url") is None) == (client_config.get("service") is None):
            causes.append(required_cause(client_path, "exactly one of url or service is required"))
        versions = [_str(v) for v in _list(webhook.get("conversionReviewVersions"))] if webhook else []
        review_path = f"{field}.conversionReviewVersions"
        if not versions:
            causes.append(required_cause(review_path))
        else:
            seen: set[str] = set()
            for i, v in enumerate(versions):
                if v in seen:
                    causes.append(invalid_cause(f"{review_path}[{i}]", v, "duplicate version"))
                    continue
                seen.add(v)
                causes += [invalid_cause(f"{review_path}[{i}]", v, m) for m in is_dns1035_label(v)]
            if not seen & set(CONVERSION_REVIEW_VERSIONS):
                detail = "must include at least one of v1, v1beta1"
                causes.append(invalid_cause(review_path, versions, detail))
    elif webhook:
        if webhook.get("clientConfig") is not None:
            causes.append(forbidden_cause(f"{field}.webhookClientConfig",
                                          "should not be set when strategy is not set to Webhook"))
        if _list(webhook.get("conversionReviewVersions")):
            causes.append(forbidden_cause(f"{field}.conversionReviewVersions",
                                          "should not be set when strategy is not set to Webhook"))
    return causes


def _is_protected_group(group: str) -> bool:
    return any(group == d or group.endswith("." + d) for d in ("k8s.io", "kubernetes.io"))


def _api_approval_state(annotations: Mapping[str, Any]) -> tuple[str, str]:
    value = _str(annotations.get(API_APPROVAL_ANNOTATION))
    if not value:
        return "missing", f'{_APPROVAL_PREFIX} "{API_APPROVAL_ANNOTATION}", {_ENHANCEMENTS_PR}'
    if value.startswith("unapproved"):
        return "bypassed", ""
    parsed = urlsplit(value)
    if parsed.scheme and parsed.netloc:
        return "approved", ""
    return "invalid", (f'{_APPROVAL_PREFIX} "{API_APPROVAL_ANNOTATION}" with either a URL '
                       f'or a reason starting with "unapproved", {_ENHANCEMENTS_PR}')


def _validate_api_approval(crd: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    group = _str(_dict(crd.get("spec")).get("group"))
    if not _is_protected_group(group):
        return []
    annotations = _dict(_metadata(crd).get("annotations"))
    state, reason = _api_approval_state(annotations)
    if old is not None and _api_approval_state(_dict(_metadata(old).get("annotations")))[0] == state:
        return []
    path = f"metadata.annotations[{API_APPROVAL_ANNOTATION}]"
    if state == "missing":
        return [required_cause(path, reason)]
    if state == "invalid":
        return [invalid_cause(path, _str(annotations.get(API_APPROVAL_ANNOTATION)), reason)]
    return []


def _validate_stored_versions(
    status: Mapping[str, Any], versions: Sequence[Mapping[str, Any]]
) -> list[Cause]:
    stored = [_str(v) for v in _list(status.get("storedVersions"))]
    field = "status.storedVersions"
    if not stored:
        return [invalid_cause(field, stored, "must have at least one stored version")]
    causes: list[Cause] = []
    remaining = {v: i for i, v in enumerate(stored)}
    for version in versions:
        name = _str(version.get("name"))
        if version.get("storage") and name not in remaining:
            causes.append(invalid_cause(field, stored, "must have the storage version " + name))
        remaining.pop(name, None)
    for name, i in sorted(remaining.items(), key=lambda item: item[1]):
        causes.append(invalid_cause(
            f"{field}[{i}]", name,
            f"missing from spec.versions; {name} was previously a storage version, and must remain in "
            f"spec.versions until a storage migration ensures no data remains persisted in {name} and "
            f"removes {name} from status.storedVersions"))
    return causes


def _is_established(crd: Mapping[str, Any]) -> bool:
    conditions = _list(_dict(crd.get("status")).get("conditions"))
    return any(_dict(c).get("type") == "Established" and _dict(c).get("status") == "True" for c in conditions)


def _all_versions_have_schema(spec: Mapping[str, Any]) -> bool:
    versions = [_dict(v) for v in _list(spec.get("versions"))]
    return all(_dict(v.get("schema")).get("openAPIV3Schema") is not None for v in versions)


def validate_crd(crd: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    """The non-schema, non-metadata causes for an ``apiextensions.k8s.io/v1`` CRD (``old``: None on create).

    Call it in addition to :func:`validate_object_meta` (rule ``subdomain``); expects v1 defaulting to have
    run (``names.singular``/``listKind``, ``conversion.strategy``) and, when ``status.storedVersions`` is
    checked, the strategy's status preparation.

    Covers: on create the name ``<plural>.<group>`` (and generateName, as upstream); group (DNS subdomain
    with a dot); scope; versions (DNS-1035 names, unique, exactly one storage, deprecationWarning,
    subresources.scale paths, additionalPrinterColumns, selectableFields basics); names (required and
    DNS-1035 forms, kind != listKind); conversion; ``preserveUnknownFields: true`` forbidden; the
    api-approval annotation for ``*.k8s.io``/``*.kubernetes.io`` groups; ``status.acceptedNames``;
    ``status.storedVersions`` when present; on update the immutable group and names.plural, and scope and
    names.kind once the CRD is Established. Paths follow the lifting of identical per-version fields
    (:func:`crd_lifted_fields`). Not here: the ``openAPIV3Schema`` checks, including "schemas are required".
    """
    spec, meta = _dict(crd.get("spec")), _metadata(crd)
    names, group = _dict(spec.get("names")), _str(spec.get("group"))
    versions = [_dict(v) for v in _list(spec.get("versions"))]
    lifted = crd_lifted_fields(crd)
    causes: list[Cause] = []

    if old is None:
        required_name = f"{_str(names.get('plural'))}.{group}"
        detail = 'must be spec.names.plural+"."+spec.group'
        generate_name, name = _str(meta.get("generateName")), _str(meta.get("name"))
        if generate_name and generate_name != required_name:
            causes.append(invalid_cause("metadata.generateName", generate_name, detail))
        if name and name != required_name:
            causes.append(invalid_cause("metadata.name", name, detail))

    if not group:
        causes.append(required_cause("spec.group"))
    elif errs := is_dns1123_subdomain(group):
        causes.append(invalid_cause("spec.group", group, ",".join(errs)))
    elif "." not in group:
        causes.append(invalid_cause("spec.group", group, "should be a domain with at least one dot"))

    scope = _str(spec.get("scope"))
    if not scope:
        causes.append(required_cause("spec.scope"))
    elif scope not in CRD_SCOPES:
        causes.append(not_supported_cause("spec.scope", scope, CRD_SCOPES))

    storage_count, seen_versions, unique = 0, set(), True
    for i, version in enumerate(versions):
        path, version_name = f"spec.versions[{i}]", _str(version.get("name"))
        storage_count += 1 if version.get("storage") is True else 0
        unique = unique and version_name not in seen_versions
        seen_versions.add(version_name)
        if errs := is_dns1035_label(version_name):
            causes.append(invalid_cause(f"{path}.name", version_name, ",".join(errs)))
        for message in _deprecation_warning_errors(version):
            causes.append(invalid_cause(f"{path}.deprecationWarning", version["deprecationWarning"], message))
        if "subresources" not in lifted:
            causes += _validate_subresources(_dict(version.get("subresources")), f"{path}.subresources")
        if "additionalPrinterColumns" not in lifted:
            for j, column in enumerate(_list(version.get("additionalPrinterColumns"))):
                causes += _validate_printer_column(_dict(column), f"{path}.additionalPrinterColumns[{j}]")
        if "selectableFields" not in lifted and _list(version.get("selectableFields")):
            causes += _validate_selectable_fields(version["selectableFields"], f"{path}.selectableFields")
    if not unique:
        causes.append(invalid_cause("spec.versions", versions, "must contain unique version names"))
    if storage_count != 1:
        detail = "must have exactly one version marked as storage version"
        causes.append(invalid_cause("spec.versions", versions, detail))

    for key in ("plural", "singular", "kind", "listKind"):
        if not _str(names.get(key)):
            causes.append(required_cause(f"spec.names.{key}"))
    causes += validate_crd_names(names, "spec.names")

    first = versions[0] if versions else {}
    if "subresources" in lifted:
        causes += _validate_subresources(_dict(first.get("subresources")), "spec.subresources")
    if "additionalPrinterColumns" in lifted:
        for j, column in enumerate(_list(first.get("additionalPrinterColumns"))):
            causes += _validate_printer_column(_dict(column), f"spec.additionalPrinterColumns[{j}]")
    if "selectableFields" in lifted:
        causes += _validate_selectable_fields(_list(first.get("selectableFields")), "spec.selectableFields")

    preserve_unknown = spec.get("preserveUnknownFields") is True
    conversion = spec.get("conversion")
    if isinstance(conversion, dict):
        causes += _validate_conversion(conversion, preserve_unknown, "spec.conversion")

    if old is not None:
        old_spec = _dict(old.get("spec"))
        old_names = _dict(old_spec.get("names"))
        immutable: list[tuple[str, Any, Any]] = [
            ("spec.group", group, _str(old_spec.get("group"))),
            ("spec.names.plural", _str(names.get("plural")), _str(old_names.get("plural"))),
        ]
        if _is_established(old):
            immutable = [
                ("spec.scope", scope, _str(old_spec.get("scope"))),
                ("spec.names.kind", _str(names.get("kind")), _str(old_names.get("kind"))),
                *immutable,
            ]
        causes += [invalid_cause(path, new, IMMUTABLE_MSG) for path, new, was in immutable if new != was]

    status = _dict(crd.get("status"))
    causes += validate_crd_names(_dict(status.get("acceptedNames")), "status.acceptedNames")
    if "storedVersions" in status:
        causes += _validate_stored_versions(status, versions)
    causes += _validate_api_approval(crd, old)
    old_preserved = old is not None and _dict(old.get("spec")).get("preserveUnknownFields") is True
    if preserve_unknown and not old_preserved:
        causes.append(invalid_cause(
            "spec.preserveUnknownFields", True,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema "
            "instead"))
    return causes


def schemas_required(crd: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[Cause]:
    """``spec.versions[i].schema.openAPIV3Schema: Required value: schemas are required`` per schema-less
    version.

    Upstream only requires them when the old object (if any) had a schema in every version.
    """
    spec = _dict(crd.get("spec"))
    if old is not None and not _all_versions_have_schema(_dict(old.get("spec"))):
        return []
    return [required_cause(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required")
            for i, v in enumerate(_list(spec.get("versions")))
            if _dict(_dict(v).get("schema")).get("openAPIV3Schema") is None]
