"""The HTML stepper in a real browser: headless Chromium driven over the DevTools protocol.

A minimal DevTools client (HTTP + one websocket, stdlib only) opens the page from a file:// URL,
presses the step button and the arrow keys, reads the DOM, and saves a screenshot. Expected
gradients come from PyTorch, not from chainrule.
"""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

import numpy as np
import pytest
import torch

import chainrule
from chainrule.viz import to_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")
SHOTS = os.path.join(os.path.dirname(__file__), "..", "build", "screenshots")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium); CI installs it")


class DevTools:
    """Just enough of the Chrome DevTools protocol: send a command, wait for its answer."""

    def __init__(self, ws_url):
        host_port, path = ws_url[len("ws://"):].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(4096)
        assert b" 101 " in response.split(b"\r\n")[0], response
        self.buffer = response.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("DevTools connection closed")
            self.buffer += chunk
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def _receive(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            length = b1 & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            message += self._read(length)
            if b0 & 0x80:  # FIN: the message is complete
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        payload = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)
        while True:
            reply = self._receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply["result"]

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def key(self, key, code):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key=key, code=code,
                      windowsVirtualKeyCode={"ArrowRight": 39, "ArrowLeft": 37}[key])

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM is not None, "Chromium is missing: apt-get install chromium"
    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         "--window-size=1400,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        yield tools
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(tools, path):
    tools.call("Page.navigate", url="file://" + os.path.abspath(path))
    for _ in range(200):
        if tools.js("document.readyState === 'complete' && !!window.chainruleStepper"):
            return
        time.sleep(0.05)
    raise AssertionError("the page did not load: " + str(tools.js("document.body.innerText")))


def downstream_by_input(tools):
    return tools.js("Object.fromEntries([...document.querySelectorAll('#flows tr[data-input]')]"
                    ".map(r => [r.dataset.input, r.querySelector('.downstream').textContent]))")


def number_after_equals(text):
    return float(text.split("=")[1].split("(")[0].strip())


def test_xyz_example_steps_like_the_slides(browser, tmp_path):
    x, y, z = (chainrule.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    q = x + y
    f = q * z
    page = to_html(f, tmp_path / "xyz.html")
    tx, ty, tz = (torch.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    tq = tx + ty
    tq.retain_grad()
    (tq * tz).backward()

    open_page(browser, page)
    assert browser.js("document.getElementById('step-title').textContent") == "Forward pass"
    assert browser.js("document.querySelectorAll('g.node').length") == 5  # x y z and + *
    browser.js("document.getElementById('next').click()")
    assert "MulBackward0" in browser.js("document.getElementById('step-title').textContent")
    assert browser.js("document.querySelector('.node.current').dataset.name") == "f"
    down = downstream_by_input(browser)
    assert number_after_equals(down["q"]) == tq.grad.item()
    assert number_after_equals(down["z"]) == tz.grad.item()
    browser.key("ArrowRight", "ArrowRight")  # the arrow key steps too
    assert "AddBackward0" in browser.js("document.getElementById('step-title').textContent")
    assert "df/dq = -4" in browser.js("document.getElementById('upstream').textContent")
    down = downstream_by_input(browser)
    assert number_after_equals(down["x"]) == tx.grad.item()
    assert number_after_equals(down["y"]) == ty.grad.item()
    grads = browser.js("[...document.querySelectorAll('#leaf-grads li')].map(l => l.textContent)")
    assert sorted(grads) == sorted([f"x.grad = {tx.grad.item():g}", f"y.grad = {ty.grad.item():g}",
                                    f"z.grad = {tz.grad.item():g}"])
    browser.screenshot(os.path.join(SHOTS, "stepper_xyz.png"))
    browser.key("ArrowLeft", "ArrowLeft")
    assert "MulBackward0" in browser.js("document.getElementById('step-title').textContent")
    browser.js("document.getElementById('toggle-values').click()")
    assert browser.js("document.body.classList.contains('values-off')")
    assert x.grad is None and z.grad is None  # drawing the page ran no accumulating backward


def test_two_layer_net_gradients_match_torch(browser, tmp_path):
    rng = np.random.default_rng(0)
    N, D_in, H, D_out = 4, 3, 5, 2
    xs, ys = rng.standard_normal((N, D_in)), rng.standard_normal((N, D_out))
    w1s, w2s = rng.standard_normal((D_in, H)), rng.standard_normal((H, D_out))
    x, y = chainrule.tensor(xs), chainrule.tensor(ys)
    w1 = chainrule.tensor(w1s, requires_grad=True)
    w2 = chainrule.tensor(w2s, requires_grad=True)
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    page = to_html(loss, tmp_path / "two_layer.html")

    tw1 = torch.tensor(w1s, requires_grad=True)
    tw2 = torch.tensor(w2s, requires_grad=True)
    tloss = (torch.tensor(xs).mm(tw1).clamp(min=0).mm(tw2) - torch.tensor(ys)).pow(2).sum()
    tloss.backward()

    open_page(browser, page)
    n_steps = browser.js("window.chainruleStepper.data.steps.length")
    assert n_steps == 6  # sum, pow, sub, mm, clamp, mm
    for _ in range(n_steps):
        browser.js("document.getElementById('next').click()")
    assert browser.js("document.getElementById('position').textContent") == f"step {n_steps} / 6"
    title = browser.js("document.getElementById('step-title').textContent")
    assert "MmBackward0" in title
    shown = browser.js("Object.fromEntries([...document.querySelectorAll('#leaf-grads li')]"
                       ".map(l => l.textContent.split(' = ')))")
    # Small tensors are shown in full, to 4 decimals (as the explainer prints them).
    for name, expected in (("w1.grad", tw1.grad.numpy()), ("w2.grad", tw2.grad.numpy())):
        np.testing.assert_allclose(np.array(json.loads(shown[name])), expected, atol=6e-4,
                                   rtol=1e-4)
    # The Mm step's panel shows the downstream gradient of w1, and the clamp acts as a relu.
    browser.js("document.getElementById('prev').click()")
    assert "ClampBackward1" in browser.js("document.getElementById('step-title').textContent")
    browser.screenshot(os.path.join(SHOTS, "stepper_two_layer.png"))
    assert os.path.getsize(os.path.join(SHOTS, "stepper_two_layer.png")) > 10_000


def test_page_is_self_contained(tmp_path):
    x = chainrule.tensor([1.0, 2.0], requires_grad=True)
    page = to_html((x * x).sum(), None)
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "<script src" not in page
