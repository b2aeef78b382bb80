"""100,000 calls of each SDK function, errors included, must not grow resident memory.

Runs in a fresh process so that the measurement sees only this workload.
"""

from __future__ import annotations

from corpus_kit import run_isolated

CALLS = 100_000
BOUND_MB = 12


def test_no_native_memory_growth_over_100k_calls(tiny_corpus):
    pems = {v: priv.decode() for v, (priv, _) in tiny_corpus.keys.items()}
    result = run_isolated(f"""
        import gc, psutil
        from app.core.sdk import FinanceSdk, PrivateKeyRing, SdkError, decrypt_random_key
        ring = PrivateKeyRing.from_pems({pems!r})
        proc = psutil.Process()
        CALLS = {CALLS}

        def rss():
            gc.collect()
            return proc.memory_info().rss / 2**20

        with FinanceSdk(sim, CORPID, SECRET) as sdk:
            item = sdk.get_chat_data(0, 1)[0]
            key = decrypt_random_key(item, ring)

            def round_(i):
                # every call path, one in ten an error path
                if i % 10:
                    sdk.get_chat_data(0, 1)
                    sdk.decrypt(key, item.encrypt_chat_msg)
                    for _ in sdk.iter_media("fid-image"):
                        pass
                else:
                    for call in (lambda: sdk.get_chat_data(0, 1001),
                                 lambda: sdk.decrypt(b"B" * 32, item.encrypt_chat_msg),
                                 lambda: list(sdk.iter_media("no-such-id"))):
                        try:
                            call()
                        except SdkError:
                            pass

            for i in range(CALLS // 10):
                round_(i)
            warm = rss()
            for i in range(CALLS // 10, CALLS):
                round_(i)
            hot = rss()

        # handle lifecycle: NewSdk + Init + DestroySdk, with failing Inits among them (an empty
        # secret: Init accepts any other, as Tencent's library)
        for i in range(CALLS // 10):
            try:
                FinanceSdk(sim, CORPID, SECRET if i % 10 else "").open().close()
            except SdkError:
                pass
        warm_life = rss()
        for i in range(CALLS // 10, CALLS):
            try:
                FinanceSdk(sim, CORPID, SECRET if i % 10 else "").open().close()
            except SdkError:
                pass
        result = {{"calls": [warm, hot], "lifecycle": [warm_life, rss()]}}
    """, tiny_corpus.path, timeout=900)
    for name, (warm, hot) in result.items():
        assert hot - warm < BOUND_MB, f"{name}: resident memory grew {hot - warm:.1f} MB over {CALLS} calls"
