"""Errors met while talking to the regulator (and by the sandbox that plays it)."""

from __future__ import annotations

from gate.errors import GateError

# Stable codes of RegulatorError, chosen by the gate (not by the remote side), so callers can act on them.
REGULATOR_UNREACHABLE = "regulator_unreachable"    # connection refused/reset/dropped, timeouts: retries exhausted
REGULATOR_UNAVAILABLE = "regulator_unavailable"    # 5xx or 429 until retries (or the Retry-After cap) ran out
REGULATOR_UNAUTHORIZED = "regulator_unauthorized"  # 401/403: wrong platform id or secret; retrying cannot help
REGULATOR_REJECTED = "regulator_rejected"          # any other 4xx: the request itself is wrong
REGULATOR_BAD_RESPONSE = "regulator_bad_response"  # a 2xx whose body is not the documented JSON
REGULATOR_TLS_ERROR = "regulator_tls_error"        # certificate/TLS failure: never retried, never ignored
REPORT_BODY_NOT_REPLAYABLE = "report_body_not_replayable"


class RegulatorError(GateError):
    """A call to the regulator failed.

    ``status`` is the HTTP status of the last answer (None when no answer arrived); ``remote_code`` and
    ``remote_message`` are what the regulator said in its ``{"error": {"code", "message"}}`` body, when it said
    anything; ``attempts`` is how many times the request was sent.
    """

    code = "regulator_error"

    def __init__(self, code: str, message: str, status: int | None = None, *, remote_code: str | None = None,
                 remote_message: str | None = None, attempts: int = 1, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.remote_code = remote_code
        self.remote_message = remote_message
        self.attempts = attempts
        self.retry_after = retry_after

    def as_dict(self) -> dict:
        out: dict = {"code": self.code, "message": self.message, "status": self.status}
        if self.remote_code is not None:
            out["remote_code"] = self.remote_code
        return out
