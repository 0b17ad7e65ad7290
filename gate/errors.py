"""One error tree for the whole gate.

Every error carries a stable ``code``: the same string appears in JSON answers, logs, problem lists and exit
statuses, so callers can act on it without parsing messages. Library exceptions (``struct``, ``zlib``,
asn1crypto, cryptography, SQLAlchemy, requests) are wrapped into these at the layer that meets them and never cross it.
"""

from __future__ import annotations


class GateError(Exception):
    """Base of every error the gate raises on purpose."""

    code = "gate_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class UsageError(GateError):
    """The caller asked for something the gate does not do (CLI exit status 2)."""

    code = "usage_error"


class ConfigError(GateError):
    """A GATE_* setting is missing or malformed."""

    code = "config_invalid"


class PackageError(GateError):
    """A package cannot be read the way the device reads it.

    Raised inside ``gate.extract`` and turned into a ``problems`` entry at its boundary; the decision for such a
    package is always ``block`` (reason ``package_malformed``).
    """

    code = "package_malformed"


class ContainerError(PackageError):
    """The ZIP container is malformed or ambiguous (codes start with ``zip_``)."""

    code = "zip_malformed"


class ManifestError(PackageError):
    """The binary AndroidManifest.xml is missing, malformed or ambiguous (codes start with ``manifest_``)."""

    code = "manifest_malformed"


class ResourcesError(PackageError):
    """resources.arsc is malformed (codes start with ``resources_``)."""

    code = "resources_malformed"


class LimitExceeded(PackageError):
    """A named resource limit was exceeded (entry count, inflated size, inflate ratio, manifest size)."""

    code = "limit_exceeded"


class ImageError(GateError):
    """A system image (sparse, ext4, EROFS, super, APEX payload) cannot be read as the device would read it.

    Codes: ``image_format_unknown``, ``image_truncated``, ``image_sparse_invalid``, ``image_super_invalid``,
    ``image_filesystem_invalid``, ``image_too_large``, ``image_tool_missing``, ``image_tool_timeout``. The message
    names the partition (``system``, ``vendor``, ``com.android.foo.apex``…); ``partition`` carries it for reports.
    A scan records the error against that partition and blocks: what cannot be read cannot be shown to be filed.
    """

    code = "image_unreadable"

    def __init__(self, message: str, *, code: str | None = None, partition: str | None = None) -> None:
        super().__init__(f"{partition}: {message}" if partition else message, code=code)
        self.partition = partition
