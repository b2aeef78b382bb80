"""WeCom's server side as this app meets it: its error codes (``errcodes``) and the calls the app
makes itself, with full certificate verification (``api``: ``gettoken``). The Finance SDK, which
makes its own calls, is in ``app.core.sdk``."""
