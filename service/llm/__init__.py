"""The LLM: which chat model answers (backend), and the one door every call goes through (structured).

Only this package imports LangChain. The local llama.cpp server is in `local`, the fakes in `fake`.
"""

from . import prompts
from .backend import Backend, BackendInfo, Usage, describe_backend, make_backend
from .call import structured

__all__ = ["Backend", "BackendInfo", "Usage", "describe_backend", "make_backend", "prompts", "structured"]
