"""Run a PyTorch script with chainrule standing in for torch.

    python tests/scripts/_as_torch.py SCRIPT.py [args...]

An import hook answers `import torch` with chainrule and `import torch.X.Y` with chainrule.X.Y
(the same module objects, so `torch.nn is nn` holds as in PyTorch). The script then runs as
`__main__`, exactly as `python SCRIPT.py` would run it.
"""
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        real = "chainrule" + fullname[len("torch"):]
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, is_package=hasattr(module, "__path__"))
        spec._chainrule_module = module
        return spec

    def create_module(self, spec):
        return spec._chainrule_module

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Alias())

if __name__ == "__main__":
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
