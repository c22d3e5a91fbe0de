"""`chainrule tour`: the lectures' examples, run and explained, with pictures written to a folder.

    chainrule tour                 # every chapter, files in ./chainrule-tour
    chainrule tour --list          # the chapters
    chainrule tour draw --out pics # one chapter
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

VIZ_EXTRA = 'pip install "chainrule[viz]"'


class Missing(Exception):
    """Something a chapter needs is not installed; the message says what to install."""


def _need_tqdm():
    try:
        from tqdm import tqdm
    except ImportError as e:
        raise Missing(f"the progress bar needs tqdm: {VIZ_EXTRA} (or pip install tqdm)") from e
    return tqdm


def _need_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise Missing(f"loss curves need matplotlib: {VIZ_EXTRA} (or pip install matplotlib)") \
            from e
    return plt


class Tour:
    def __init__(self, out, stream=sys.stdout):
        self.out = out
        self.stream = stream
        self.files = []

    def say(self, text=""):
        print(text, file=self.stream)

    def path(self, name):
        os.makedirs(self.out, exist_ok=True)
        return os.path.join(self.out, name)

    def wrote(self, path):
        self.files.append(path)
        self.say(f"  wrote {path}")

    # -- chapters ---------------------------------------------------------------------------
    def backprop(self):
        """f = (x + y) z at x=-2, y=5, z=-4: forward, then backward one node at a time."""
        import chainrule as torch

        self.say("The lecture's first example: f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4.")
        x = torch.tensor(-2.0, requires_grad=True)
        y = torch.tensor(5.0, requires_grad=True)
        z = torch.tensor(-4.0, requires_grad=True)
        q = x + y
        f = q * z
        self.say(f"Forward:  q = x + y = {q.item():g},  f = q * z = {f.item():g}")
        self.say("Backward, as the engine runs it (torch.autograd.explain(f)):\n")
        record = torch.autograd.explain(f, names=dict(x=x, y=y, z=z, q=q, f=f))
        self.say(str(record))
        self.say(f"\nSo df/dx = {x.grad.item():g}, df/dy = {y.grad.item():g}, "
                 f"df/dz = {z.grad.item():g}: the numbers on the slides.")

    def gates(self):
        """f = 2(xy + max(z, w)): add distributes, max routes, mul switches."""
        import chainrule as torch

        self.say("Patterns in backward flow: f = 2 (x y + max(z, w)) at x=3, y=-4, z=2, w=-1.")
        x, y, z, w = (torch.tensor(v, requires_grad=True) for v in (3.0, -4.0, 2.0, -1.0))
        with torch.autograd.explain() as record:
            xy = x * y
            m = torch.max(z, w)
            s = xy + m
            f = 2 * s
            f.backward()
        self.say(str(record) + "\n")
        self.say("add gate: s gets 2 and passes 2 to both xy and m (distributor).")
        self.say(f"max gate: z was larger, so z gets {z.grad.item():g} and w gets "
                 f"{w.grad.item():g} (router).")
        self.say(f"mul gate: x gets upstream * y = {x.grad.item():g}, y gets upstream * x = "
                 f"{y.grad.item():g} (switcher).")

    def draw(self):
        """The graphs drawn: torchviz-style PNG/SVG (needs Graphviz) and the HTML stepper."""
        import chainrule as torch
        from chainrule.viz import to_html

        x = torch.tensor(-2.0, requires_grad=True)
        y = torch.tensor(5.0, requires_grad=True)
        z = torch.tensor(-4.0, requires_grad=True)
        q = x + y
        f = q * z
        page = to_html(f, self.path("backprop_xyz.html"), names=dict(x=x, y=y, z=z, q=q, f=f))
        self.say("The backward stepper (open it in a browser; arrow keys step):")
        self.wrote(page)
        self._two_layer_page()
        try:
            from chainrule.viz import make_dot
            dot = make_dot(f, params=dict(x=x, y=y, z=z), show_values=True, show_grads=True)
        except ImportError as e:
            raise Missing(str(e)) from e
        source = self.path("backprop_xyz.dot")
        with open(source, "w") as fh:
            fh.write(dot.source)
        self.wrote(source)
        # The seed's torchviz listing: r = (2x + (3 + x)).sum(), then with x detached.
        a = torch.ones(3, requires_grad=True)
        r = (2 * a + (3 + a)).sum()
        b = torch.ones(3, requires_grad=True)
        r2 = (2 * b + (3 + b.detach())).sum()
        try:
            for graph, name in ((dot, "backprop_xyz"), (make_dot(r), "torchviz_1"),
                                (make_dot(r2), "torchviz_2")):
                for fmt in ("svg", "png"):
                    self.wrote(graph.render(self.path(name), format=fmt, cleanup=True))
        except RuntimeError as e:
            raise Missing(str(e)) from e

    def _two_layer_page(self):
        import chainrule as torch

        torch.manual_seed(0)
        N, D_in, H, D_out = 4, 3, 5, 2
        x = torch.randn(N, D_in)
        y = torch.randn(N, D_out)
        w1 = torch.randn(D_in, H, requires_grad=True)
        w2 = torch.randn(H, D_out, requires_grad=True)
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        from chainrule.viz import to_html

        self.wrote(to_html(loss, self.path("two_layer_net.html"),
                           names=dict(w1=w1, w2=w2, y_pred=y_pred, loss=loss)))

    def linear(self):
        """The linear model y = x * w trained by SGD, one sample at a time (100 epochs)."""
        import chainrule as torch

        tqdm = _need_tqdm()
        plt = _need_pyplot()
        x_data, y_data = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
        w = torch.Tensor([1.0])
        w.requires_grad = True

        def forward(x):
            return x * w

        def loss(x, y):
            return (forward(x) - y) ** 2

        self.say(f"predict (before training) 4 {forward(4).item()}")
        losses = []
        for epoch in tqdm(range(100), desc="linear model", file=sys.stderr):
            for x, y in zip(x_data, y_data):
                l = loss(x, y)  # noqa: E741 (the lecture's name)
                l.backward()
                w.data = w.data - 0.01 * w.grad.data
                w.grad.data.zero_()
            losses.append(l.item())
        self.say(f"predict (after training) 4 {forward(4).item()}")
        self.wrote(self._curve(plt, losses, "linear model: loss of the last sample per epoch",
                               "linear_loss.png"))

    def temperature(self):
        """The thermometer model t_c = w * t_u + b, 5000 epochs of gradient descent."""
        import chainrule as torch

        tqdm = _need_tqdm()
        plt = _need_pyplot()
        t_c = torch.tensor([0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0])
        t_u = torch.tensor([35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4])
        t_un = 0.1 * t_u
        params = torch.tensor([1.0, 0.0], requires_grad=True)
        losses = []
        bar = tqdm(range(1, 5001), desc="temperature model", file=sys.stderr)
        for epoch in bar:
            if params.grad is not None:
                params.grad.zero_()
            w, b = params
            t_p = w * t_un + b
            loss = ((t_p - t_c) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                params -= 1e-2 * params.grad
            losses.append(loss.item())
            if epoch % 500 == 0:
                bar.set_postfix(loss=f"{losses[-1]:.6f}")
                self.say("Epoch %d, Loss %f" % (epoch, float(loss)))
        self.say(str(params))
        self.wrote(self._curve(plt, losses, "temperature model: mean squared error",
                               "temperature_loss.png", log=True))

    def check(self):
        """Finite differences agree with backward (the slides' (f(x+h) - f(x-h)) / 2h)."""
        import chainrule as torch
        from chainrule.autograd import gradcheck, numerical_grad

        t_u = torch.tensor([35.7, 55.9, 58.2, 81.9, 56.3], dtype=torch.float64) * 0.1
        t_c = torch.tensor([0.5, 14.0, 15.0, 28.0, 11.0], dtype=torch.float64)
        params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)

        def loss_fn(p):
            return ((p[0] * t_u + p[1] - t_c) ** 2).mean()

        loss_fn(params).backward()
        numeric = numerical_grad(loss_fn, (params,), eps=1e-6)
        numeric = numeric[0] if isinstance(numeric, (tuple, list)) else numeric
        numeric = np.asarray(getattr(numeric, "_data", numeric)).reshape(-1)
        self.say("Temperature model loss at w=1, b=0:")
        self.say(f"  backward:            dL/dw = {params.grad[0].item():.6f}, "
                 f"dL/db = {params.grad[1].item():.6f}")
        self.say(f"  central differences: dL/dw = {numeric[0]:.6f}, dL/db = {numeric[1]:.6f}")
        x = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
        w = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
        ok = gradcheck(lambda a, b: (a.mm(b).clamp(min=0) ** 2).sum(), (x, w))
        self.say(f"  gradcheck of (relu(x @ w)^2).sum() in float64: {'passed' if ok else 'FAILED'}")
        if not ok or not np.allclose(numeric, params.grad.numpy(), rtol=1e-5, atol=1e-6):
            raise RuntimeError("finite differences disagree with backward")

    def _curve(self, plt, losses, title, name, log=False):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(np.arange(1, len(losses) + 1), losses)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        fig.tight_layout()
        path = self.path(name)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path


CHAPTERS = ["backprop", "gates", "draw", "linear", "temperature", "check"]


def _summary(tour, failures):
    tour.say("\n== Summary ==")
    if tour.files:
        tour.say(f"Files written to {tour.out}:")
        for path in tour.files:
            tour.say(f"  {path}")
    else:
        tour.say("No files written.")
    for name, message in failures:
        print(f"chainrule tour: chapter '{name}' could not run: {message}", file=sys.stderr)


def run_tour(names, out):
    tour = Tour(out)
    failures = []
    for i, name in enumerate(names, start=1):
        method = getattr(tour, name)
        tour.say(f"\n== {i}. {name}: {method.__doc__.splitlines()[0]} ==\n")
        try:
            method()
        except Missing as e:
            failures.append((name, str(e)))
            tour.say(f"  (skipped the rest of this chapter: {e})")
    _summary(tour, failures)
    return 1 if failures else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="chainrule", description=(
        "chainrule: reverse-mode autodiff for learning backpropagation."))
    sub = parser.add_subparsers(dest="command")
    tour = sub.add_parser("tour", help="walk through the lectures' examples",
                          description="Walk through the lectures' examples, chapter by chapter.")
    tour.add_argument("chapters", nargs="*", metavar="NAME", help="chapters to run (default all)")
    tour.add_argument("--out", default="chainrule-tour", help="folder for the files written "
                      "(default ./chainrule-tour)")
    tour.add_argument("--list", action="store_true", help="list the chapters and exit")
    args = parser.parse_args(argv)
    if args.command != "tour":
        parser.print_help()
        return 2
    if args.list:
        for name in CHAPTERS:
            print(f"{name:12} {getattr(Tour, name).__doc__.splitlines()[0]}")
        return 0
    unknown = [c for c in args.chapters if c not in CHAPTERS]
    if unknown:
        print(f"chainrule tour: no chapter named {', '.join(unknown)}; the chapters are: "
              f"{', '.join(CHAPTERS)}", file=sys.stderr)
        return 2
    return run_tour(args.chapters or CHAPTERS, args.out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
