# A small Transformer-encoder sequence classifier, as in the PyTorch tutorials: token embeddings
# scaled by sqrt(d_model), sinusoidal positional encoding in a buffer, nn.TransformerEncoder
# (batch_first, padding mask from the lengths), masked mean pooling, a linear head, Adam with
# gradient clipping; evaluation under no_grad. The synthetic task: is token 1 more frequent
# than token 2 in the (variable-length) sequence?
import math

import torch
import torch.nn as nn

torch.manual_seed(0)

vocab_size, d_model, nhead, num_layers, max_len = 8, 16, 4, 2, 12
PAD = 0


def make_batch(n):
    lengths = torch.randint(4, max_len + 1, (n,))
    tokens = torch.randint(1, vocab_size, (n, max_len))
    positions = torch.arange(max_len).unsqueeze(0)
    padding = positions >= lengths.unsqueeze(1)          # True where padded
    tokens = tokens.masked_fill(padding, PAD)
    ones = (tokens == 1).sum(1)
    twos = (tokens == 2).sum(1)
    labels = (ones > twos).long()
    return tokens, padding, labels


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=64):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        x = x + self.pe[:, :x.size(1)]
        return self.dropout(x)


class TransformerClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=PAD)
        self.pos_encoder = PositionalEncoding(d_model, dropout=0.1)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=32, dropout=0.1,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.classifier = nn.Linear(d_model, 2)

    def forward(self, tokens, padding):
        x = self.embedding(tokens) * math.sqrt(d_model)
        x = self.pos_encoder(x)
        x = self.encoder(x, src_key_padding_mask=padding)
        keep = (~padding).unsqueeze(-1).float()
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1)
        return self.classifier(pooled)


model = TransformerClassifier()
print(model)
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"{n_params} trainable parameters")
print([name for name, _ in model.named_parameters()][:6])
print(nn.Transformer.generate_square_subsequent_mask(4))

optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
criterion = nn.CrossEntropyLoss()

for step in range(20):
    model.train()
    tokens, padding, labels = make_batch(32)
    logits = model(tokens, padding)
    loss = criterion(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step % 5 == 0 or step == 19:
        print(f"step {step:2d}  loss {loss.item():.4f}  grad norm {norm.item():.4f}")

model.eval()
with torch.no_grad():
    tokens, padding, labels = make_batch(64)
    logits = model(tokens, padding)
    accuracy = (logits.argmax(dim=1) == labels).float().mean()
    print(f"eval loss {criterion(logits, labels).item():.4f}  accuracy {accuracy.item():.4f}")
    probs = logits[:3].softmax(dim=-1)
    print(probs)

# The attention weights of the first layer for one sequence, averaged over heads.
layer0 = model.encoder.layers[0]
with torch.no_grad():
    x = model.pos_encoder(model.embedding(tokens[:1]) * math.sqrt(d_model))
    _, weights = layer0.self_attn(x, x, x, key_padding_mask=padding[:1])
print(weights.shape)
print(weights[0, 0])
