"""A local OpenAI-compatible Files + Batches server (Starlette), for trying Batchdash at no cost.

It never imports streamlit. `sandbox.app.create_app` builds the ASGI app; `sandbox.server.serve`
runs it with uvicorn.
"""
