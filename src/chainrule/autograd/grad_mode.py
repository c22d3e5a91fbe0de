"""Grad mode: whether ops record the graph. Thread-local, like PyTorch's."""
from __future__ import annotations

import functools
import inspect
import threading


class _State(threading.local):
    enabled = True
    inference = False


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _GradModeContext:
    """Base for context managers that are also decorators (and work on generators)."""

    def __call__(self, fn):
        if isinstance(fn, type):
            raise TypeError(f"{type(self).__name__} cannot decorate a class")

        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, fn):
        """The mode holds while the generator runs, not between its yields (as in PyTorch)."""

        @functools.wraps(fn)
        def generator(*args, **kwargs):
            gen = fn(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as err:
                        with self.clone():
                            response = gen.throw(err)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return generator

    def clone(self):
        return type(self)()


class _NoParamDecorator(_GradModeContext):
    """Usable as `with ctx():`, `@ctx()` and bare `@ctx`."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __init__(self, orig_func=None):
        self._prev = []

    def __exit__(self, *exc):
        state.enabled = self._prev.pop()
        return False


class no_grad(_NoParamDecorator):
    """Disable graph recording inside the block (the SGD update of the seeds)."""

    def __enter__(self):
        self._prev.append(state.enabled)
        state.enabled = False


class enable_grad(_NoParamDecorator):
    """Re-enable graph recording inside a no_grad block."""

    def __enter__(self):
        self._prev.append(state.enabled)
        state.enabled = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode now (function form) and restore it on exit (context-manager form)."""

    def __init__(self, mode: bool):
        self._prev = state.enabled
        self.mode = bool(mode)
        state.enabled = self.mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def clone(self):
        return set_grad_enabled(self.mode)


class inference_mode(_GradModeContext):
    """Like no_grad; tensors made inside are marked as inference tensors."""

    def __init__(self, mode=True):
        self.mode = mode
        self._prev = []

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        ctx = super().__new__(cls)
        ctx.mode, ctx._prev = True, []
        return ctx(mode)

    def __enter__(self):
        self._prev.append((state.enabled, state.inference))
        if self.mode:
            state.enabled, state.inference = False, True

    def __exit__(self, *exc):
        state.enabled, state.inference = self._prev.pop()
        return False

    def clone(self):
        return inference_mode(self.mode)
