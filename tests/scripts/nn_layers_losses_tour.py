# A tour of the layers, losses and initialisers that model code reaches for, printed the way
# people check them in a notebook: shapes, a few values, parameter counts.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
x = torch.randn(4, 6)

# --- initialisers
w = torch.empty(3, 5)
for name, fn in [("uniform", lambda t: nn.init.uniform_(t, -0.1, 0.1)),
                 ("normal", lambda t: nn.init.normal_(t, 0.0, 0.02)),
                 ("xavier_uniform", nn.init.xavier_uniform_),
                 ("xavier_normal", lambda t: nn.init.xavier_normal_(t, gain=nn.init.calculate_gain('tanh'))),
                 ("kaiming_uniform", lambda t: nn.init.kaiming_uniform_(t, a=5 ** 0.5)),
                 ("kaiming_normal", lambda t: nn.init.kaiming_normal_(t, nonlinearity='relu')),
                 ("trunc_normal", lambda t: nn.init.trunc_normal_(t, std=0.02)),
                 ("orthogonal", nn.init.orthogonal_),
                 ("eye", nn.init.eye_),
                 ("constant", lambda t: nn.init.constant_(t, 0.3)),
                 ("ones", nn.init.ones_)]:
    fn(w)
    print(f"{name:16s} mean={w.mean().item():+.5f} std={w.std().item():.5f}")
print(nn.init.calculate_gain('leaky_relu', 0.2), nn.init.calculate_gain('relu'))

# --- containers
blocks = nn.ModuleDict({"enc": nn.Linear(6, 8), "dec": nn.Linear(8, 6)})
scales = nn.ParameterList([nn.Parameter(torch.ones(8)), nn.Parameter(torch.zeros(6))])
print(blocks)
print(scales)
h = blocks["enc"](x) * scales[0]
out = blocks["dec"](h) + scales[1]
print(out.shape, sum(p.numel() for p in blocks.parameters()) + sum(p.numel() for p in scales))
layers = nn.ModuleList([nn.Linear(6, 6) for _ in range(3)])
layers.append(nn.ReLU())
print(len(layers), layers[-1], [type(m).__name__ for m in layers[1:3]])
seq = nn.Sequential()
seq.add_module("fc", nn.Linear(6, 2))
seq.add_module("act", nn.Softmax(dim=-1))
print(seq, seq(x).sum(dim=1))

# --- weight tying and embeddings
emb = nn.Embedding(10, 6, padding_idx=0)
print(emb.weight[0], emb)
decoder = nn.Linear(6, 10, bias=False)
decoder.weight = emb.weight
tokens = torch.tensor([[0, 3, 5], [2, 0, 9]])
logits = decoder(emb(tokens))
logits.sum().backward()
print(logits.shape, emb.weight.grad[0], emb.weight.grad.abs().sum() > 0, decoder.weight is emb.weight)
pretrained = nn.Embedding.from_pretrained(torch.arange(12.).view(4, 3), freeze=True)
print(pretrained(torch.tensor([3, 1])), pretrained.weight.requires_grad)

# --- activations
acts = [nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(), nn.GELU(), nn.GELU(approximate='tanh'),
        nn.SiLU(), nn.Softplus(beta=2), nn.Hardtanh(-0.5, 0.5), nn.Tanh(), nn.Sigmoid(),
        nn.LogSigmoid(), nn.ReLU6(), nn.Mish(), nn.Hardswish(), nn.Hardsigmoid(), nn.PReLU(),
        nn.Softsign(), nn.Tanhshrink(), nn.CELU(), nn.SELU()]
v = torch.linspace(-2, 2, 9)
with torch.no_grad():
    for a in acts:
        print(f"{str(a):36s}", a(v))

# --- normalisation
ln = nn.LayerNorm(6, elementwise_affine=True)
bn = nn.BatchNorm1d(6, momentum=0.2)
gn = nn.GroupNorm(2, 6)
print(ln(x)[0], bn(x)[:, 0], gn(x.view(4, 6, 1)).view(4, 6)[1])
print(bn.running_mean, bn.running_var)
bn.eval()
print(bn(x)[0])
print(F.normalize(x, dim=1).norm(dim=1), F.normalize(x, p=1, dim=0).abs().sum(0))

# --- losses
target_cls = torch.tensor([1, 0, 5, 2])
target_real = torch.randn(4, 6)
probs = torch.sigmoid(torch.randn(4, 6))
bin_target = (torch.rand(4, 6) > 0.5).float()
print("mse", F.mse_loss(x, target_real), nn.MSELoss(reduction='sum')(x, target_real))
print("l1", F.l1_loss(x, target_real), "smooth_l1", F.smooth_l1_loss(x, target_real, beta=0.5))
print("huber", F.huber_loss(x, target_real, delta=0.7))
print("ce", F.cross_entropy(x, target_cls), F.cross_entropy(x, target_cls, label_smoothing=0.1))
print("ce weight", F.cross_entropy(x, target_cls, weight=torch.arange(1., 7.)))
print("ce ignore", F.cross_entropy(x, torch.tensor([1, -100, 5, 2])))
print("ce ignore_index", nn.CrossEntropyLoss(ignore_index=5)(x, target_cls))
print("ce probs", F.cross_entropy(x, F.softmax(target_real, dim=1)))
print("nll", F.nll_loss(F.log_softmax(x, 1), target_cls, reduction='none'))
print("bce", F.binary_cross_entropy(probs, bin_target))
print("bce logits", F.binary_cross_entropy_with_logits(x, bin_target, pos_weight=torch.full((6,), 2.0)))
print("kl", F.kl_div(F.log_softmax(x, 1), F.softmax(target_real, 1), reduction='batchmean'))
print("cos", F.cosine_similarity(x, target_real, dim=1), nn.CosineSimilarity(dim=0)(x, target_real)[:2])
print("pdist", nn.PairwiseDistance()(x, target_real))
print("margin", nn.MarginRankingLoss(margin=0.1)(x[:, 0], x[:, 1], torch.tensor([1., -1., 1., -1.])))
print("triplet", nn.TripletMarginLoss(margin=1.0)(x, target_real, probs))
print("cosine emb", nn.CosineEmbeddingLoss()(x, target_real, torch.tensor([1, -1, 1, 1])))
print("soft margin", nn.SoftMarginLoss()(x[:, 0], torch.tensor([1., -1., 1., -1.])))
print("poisson", nn.PoissonNLLLoss()(x, probs), "gauss", nn.GaussianNLLLoss()(x, target_real, probs))

# --- misc functional
print(F.one_hot(target_cls, num_classes=6))
print(F.pad(torch.ones(2, 2), (1, 1, 0, 1), value=0.5))
print(F.dropout(torch.ones(2, 4), p=0.5, training=True))
print(F.interpolate(torch.arange(4.).view(1, 1, 4), scale_factor=2, mode='nearest'))
print(F.interpolate(torch.arange(6.).view(1, 1, 2, 3), size=(3, 5)))
print(nn.Upsample(scale_factor=2)(torch.arange(4.).view(1, 1, 2, 2)), nn.Upsample(scale_factor=2))
print(F.linear(x, torch.ones(2, 6), torch.tensor([0., 1.])))
print(F.embedding(torch.tensor([1, 2]), torch.eye(3)))
print(F.glu(torch.arange(8.).view(2, 4), dim=-1))
print(F.softmin(v, dim=0), F.log_softmax(v, dim=0)[:3])
