"""An MLP classifier on scikit-learn's handwritten digits (8x8 images, 10 classes, no download),
trained with DataLoader, CrossEntropyLoss and Adam. Prints test accuracy and wall time, shows a
tqdm progress bar and saves a loss/accuracy plot.

    python examples/digits_mlp.py                    # chainrule
    python examples/digits_mlp.py --backend torch    # the same script on real PyTorch
    python examples/digits_mlp.py --epochs 5 --plot none --no-progress
"""
import argparse
import importlib
import time

import numpy as np


def load_split(seed=0, test_fraction=0.2):
    """The digits as float32 arrays in [0, 1], split the same way for every backend."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)


def build_model(nn, hidden=128):
    return nn.Sequential(
        nn.Linear(64, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def evaluate(torch, model, loader):
    """Accuracy (fraction correct) over a loader, without building graphs."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, targets in loader:
            correct += (model(inputs).argmax(dim=1) == targets).sum().item()
            total += targets.shape[0]
    model.train()
    return correct / total


def train(backend="chainrule", epochs=30, batch_size=64, lr=1e-3, seed=0, progress=True,
          log=print):
    """Train and evaluate; returns a dict with the history, test accuracy and seconds."""
    torch = importlib.import_module(backend)
    nn = torch.nn
    from_data = importlib.import_module(backend + ".utils.data")
    x_train, x_test, y_train, y_test = load_split(seed)

    torch.manual_seed(seed)
    train_loader = from_data.DataLoader(
        from_data.TensorDataset(torch.tensor(x_train), torch.tensor(y_train)),
        batch_size=batch_size, shuffle=True)
    test_loader = from_data.DataLoader(
        from_data.TensorDataset(torch.tensor(x_test), torch.tensor(y_test)), batch_size=512)
    model = build_model(nn)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    history = {"loss": [], "train_accuracy": [], "test_accuracy": []}
    bar = _progress(range(epochs), progress, backend)
    start = time.perf_counter()
    for epoch in bar:
        total_loss, batches = 0.0, 0
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            batches += 1
        history["loss"].append(total_loss / batches)
        history["train_accuracy"].append(evaluate(torch, model, train_loader))
        history["test_accuracy"].append(evaluate(torch, model, test_loader))
        if progress:
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}",
                            test_acc=f"{history['test_accuracy'][-1]:.4f}")
    seconds = time.perf_counter() - start
    return {"history": history, "test_accuracy": history["test_accuracy"][-1],
            "seconds": seconds, "backend": backend}


def _progress(iterable, enabled, backend):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=f"digits MLP ({backend})", unit="epoch")


def save_plot(history, path, title):
    """Loss and accuracy per epoch, side by side (matplotlib's Agg backend: no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["loss"], label="train loss")
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy")
    left.legend()
    right.plot(epochs, history["train_accuracy"], label="train")
    right.plot(epochs, history["test_accuracy"], label="test")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy")
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["chainrule", "torch"], default="chainrule")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="digits_mlp.png",
                        help="where to save the loss/accuracy plot ('none' to skip)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)

    result = train(args.backend, args.epochs, args.batch_size, args.lr, args.seed,
                   progress=not args.no_progress)
    print(f"backend: {result['backend']}")
    print(f"test accuracy: {result['test_accuracy']:.4f}")
    print(f"wall time: {result['seconds']:.2f} s for {args.epochs} epochs")
    if args.plot != "none":
        save_plot(result["history"], args.plot,
                  f"digits MLP ({result['backend']}): test accuracy "
                  f"{result['test_accuracy']:.4f}")
        print(f"plot saved to {args.plot}")
    return result


if __name__ == "__main__":
    main()
