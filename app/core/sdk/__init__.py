"""The Finance SDK layer: the cffi binding (binding.py owns the library), errors, and RSA keys."""

from .binding import ChatDataItem, FinanceSdk, decrypt_data, load_library
from .errors import (
    MediaExpiredError,
    SdkClosedError,
    SdkConfigError,
    SdkError,
    SdkItemError,
    SdkLoadError,
    SdkResponseError,
    SdkRetryableError,
    error_for_code,
)
from .keys import (
    InvalidPrivateKeyError,
    PrivateKeyRing,
    RandomKeyError,
    UnknownKeyVersionError,
    decrypt_random_key,
    load_private_key,
)

__all__ = [
    "ChatDataItem", "FinanceSdk", "decrypt_data", "load_library",
    "MediaExpiredError", "SdkClosedError", "SdkConfigError", "SdkError", "SdkItemError", "SdkLoadError",
    "SdkResponseError", "SdkRetryableError", "error_for_code",
    "InvalidPrivateKeyError", "PrivateKeyRing", "RandomKeyError", "UnknownKeyVersionError",
    "decrypt_random_key", "load_private_key",
]
