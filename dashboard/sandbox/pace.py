"""The metadata key with which a batch asks the sandbox for its own pace.

A module of its own, importing nothing, so the app can tag its batches without loading the
server (Starlette, uvicorn) on a page that sends nothing.
"""

#: Metadata key with which a batch asks for its own pace: the seconds its requests should take
#: in all, whatever their number ("0": as fast as the sandbox can). It goes before `rate`, so
#: an analyst can pick how fast the bundled sandbox runs each job without restarting it.
PACE_TAG = "sandbox_seconds"
