# A character-level LSTM language model (Karpathy's char-rnn, in miniature): embed characters,
# run a 2-layer LSTM with dropout, predict the next character, train with Adam and gradient
# clipping, then sample a string one character at a time, carrying the LSTM state.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(2024)

text = ("the quick brown fox jumps over the lazy dog. "
        "to be or not to be, that is the question. "
        "all that glitters is not gold. "
        "the rain in spain stays mainly in the plain. ") * 3
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
print(f"{len(text)} characters, {vocab_size} distinct: {''.join(chars)!r}")

seq_len, batch_size = 16, 8


def get_batch():
    ix = torch.randint(len(data) - seq_len - 1, (batch_size,))
    x = torch.stack([data[i:i + seq_len] for i in ix])
    y = torch.stack([data[i + 1:i + seq_len + 1] for i in ix])
    return x, y


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, n_embd=16, n_hidden=48, n_layers=2, dropout=0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, n_embd)
        self.lstm = nn.LSTM(n_embd, n_hidden, num_layers=n_layers, batch_first=True,
                            dropout=dropout)
        self.head = nn.Linear(n_hidden, vocab_size)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


model = CharLSTM(vocab_size)
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))
for name, p in model.lstm.named_parameters():
    print(f"  {name:14s} {tuple(p.shape)}")

xb, yb = get_batch()
logits, (h, c) = model(xb)
print("logits", tuple(logits.shape), "h", tuple(h.shape), "c", tuple(c.shape))

optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(30):
    xb, yb = get_batch()
    logits, _ = model(xb)
    loss = F.cross_entropy(logits.reshape(-1, vocab_size), yb.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step % 5 == 0 or step == 29:
        print(f"step {step:2d}  loss {loss.item():.4f}  grad norm {norm.item():.4f}")


@torch.no_grad()
def sample(start, n, temperature=0.8):
    model.eval()
    idx = torch.tensor([[stoi[c] for c in start]])
    logits, state = model(idx)
    out = list(start)
    for _ in range(n):
        probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
        nxt = torch.multinomial(probs, num_samples=1)
        out.append(itos[nxt.item()])
        logits, state = model(nxt, state)
    model.train()
    return "".join(out)


torch.manual_seed(7)
print(repr(sample("the ", 60)))
