"""LLM backends through llama-index: OpenAI, any OpenAI-compatible server (llama.cpp, vLLM, LM Studio), Ollama.

`LLMClient` hides the provider and the mode: in chat mode it sends a system and a user message
(`/v1/chat/completions`), in completion mode one plain prompt (`/v1/completions`, for base models
without a chat template). Either way it streams text deltas and turns every failure into a
`BackendError` that says which server failed and what to check.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import BackendError, ConfigError, NewsragError
from ..settings import Settings

INSTALL_HINT = "pip install 'newsrag[llm]'"
# Stops a base model that would go on to invent the next question of the prompt's pattern.
COMPLETION_STOPS = ["\nQuestion:", "<passage", "</passage", "\n\n\n"]


def _require(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendError(
            f"the llm answerer needs the {package} package, which is not installed; run: {INSTALL_HINT}"
        ) from exc


def _openai_like(settings: Settings) -> Any:
    if not settings.llm_base_url:
        raise ConfigError(
            "llm_provider openai-like needs the server's base URL; set NEWSRAG_LLM_BASE_URL, "
            "e.g. http://127.0.0.1:8080/v1 for llama.cpp or http://127.0.0.1:1234/v1 for LM Studio"
        )
    module = _require("llama_index.llms.openai_like", "llama-index-llms-openai-like")
    return module.OpenAILike(
        model=settings.llm_model, api_base=settings.llm_base_url, api_key=_key(settings) or "not-needed",
        is_chat_model=settings.llm_mode == "chat", context_window=settings.llm_context_window,
        **_common(settings),
    )


def _openai(settings: Settings) -> Any:
    key = _key(settings)
    if not key:
        raise ConfigError("llm_provider openai needs an API key; set NEWSRAG_LLM_API_KEY")
    module = _require("llama_index.llms.openai", "llama-index-llms-openai")
    extra = {"api_base": settings.llm_base_url} if settings.llm_base_url else {}
    return module.OpenAI(model=settings.llm_model, api_key=key, **extra, **_common(settings))


def _ollama(settings: Settings) -> Any:
    module = _require("llama_index.llms.ollama", "llama-index-llms-ollama")
    return module.Ollama(
        model=settings.llm_model, base_url=settings.llm_base_url or "http://127.0.0.1:11434",
        request_timeout=settings.llm_timeout, temperature=settings.llm_temperature,
        context_window=settings.llm_context_window,
        additional_kwargs={"num_predict": settings.llm_max_tokens},
    )


def _common(settings: Settings) -> dict[str, Any]:
    extra = {"stop": COMPLETION_STOPS} if settings.llm_mode == "completion" else {}
    return {
        "temperature": settings.llm_temperature, "max_tokens": settings.llm_max_tokens,
        "timeout": settings.llm_timeout, "max_retries": 1, "additional_kwargs": extra,
    }


def _key(settings: Settings) -> str | None:
    return settings.llm_api_key.get_secret_value() if settings.llm_api_key else None


# provider name -> factory building the llama-index LLM (imported lazily, so no LLM package is needed otherwise)
PROVIDERS: dict[str, Callable[[Settings], Any]] = {
    "openai-like": _openai_like,
    "openai": _openai,
    "ollama": _ollama,
}


class LLMClient:
    """One configured LLM; `stream` yields the text it writes, piece by piece."""

    def __init__(self, settings: Settings) -> None:
        if settings.llm_provider not in PROVIDERS:
            raise ConfigError(
                f"llm_provider {settings.llm_provider!r} is unknown; choose one of: {', '.join(PROVIDERS)}"
            )
        if not settings.llm_model:
            raise ConfigError("the llm answerer needs a model name; set NEWSRAG_LLM_MODEL (as the server names it)")
        self.settings = settings
        self.mode = settings.llm_mode
        self.llm = PROVIDERS[settings.llm_provider](settings)

    @property
    def where(self) -> str:
        s = self.settings
        return f"{s.llm_provider} model {s.llm_model!r}" + (f" at {s.llm_base_url}" if s.llm_base_url else "")

    def stream(self, system: str, user: str, prompt: str) -> Iterator[str]:
        """Chat mode sends `system` + `user`; completion mode sends `prompt`. Yields text deltas as they arrive."""
        wrote = False
        with self._translated_errors():
            if self.mode == "chat":
                responses = self.llm.stream_chat(self._messages(system, user))
            else:
                responses = self.llm.stream_complete(prompt, formatted=True)
            for response in responses:
                if response.delta:
                    wrote = wrote or bool(response.delta.strip())
                    yield response.delta
        if not wrote and self.mode == "chat":  # a chat server that writes nothing is misconfigured; a base
            raise self._no_text()  # model that stops at once has nothing to say: the answer is refused

    def complete(self, system: str, user: str, prompt: str) -> str:
        """The whole reply in one request (no streaming), for short jobs such as rewriting a question."""
        with self._translated_errors():
            if self.mode == "chat":
                text = self.llm.chat(self._messages(system, user)).message.content or ""
            else:
                text = self.llm.complete(prompt, formatted=True).text or ""
        if not text.strip():
            raise self._no_text()
        return text

    @staticmethod
    def _messages(system: str, user: str) -> list[Any]:
        from llama_index.core.llms import ChatMessage, MessageRole

        messages = [ChatMessage(role=MessageRole.USER, content=user)]
        if system:
            messages.insert(0, ChatMessage(role=MessageRole.SYSTEM, content=system))
        return messages

    @contextlib.contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except NewsragError:
            raise
        except Exception as exc:
            raise BackendError(f"the LLM ({self.where}) failed: {_reason(exc)}") from exc

    def _no_text(self) -> BackendError:
        hint = " It may be a base model without a chat template: set NEWSRAG_LLM_MODE=completion." if self.mode == "chat" else ""
        return BackendError(f"the LLM ({self.where}) returned no text.{hint}")


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "Connect" in type(exc).__name__ or "Connection" in text:
        text += " (is the server running and is NEWSRAG_LLM_BASE_URL right?)"
    return text[:500]
