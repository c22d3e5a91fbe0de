# The "Tensors" tutorial from Learning PyTorch, run on the CPU.
import torch
import numpy as np

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data)

np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print(x_np)

x_ones = torch.ones_like(x_data) # retains the properties of x_data
print(f"Ones Tensor: \n {x_ones} \n")

torch.manual_seed(42)
x_rand = torch.rand_like(x_data, dtype=torch.float) # overrides the datatype of x_data
print(f"Random Tensor: \n {x_rand} \n")

shape = (2, 3,)
rand_tensor = torch.rand(shape)
ones_tensor = torch.ones(shape)
zeros_tensor = torch.zeros(shape)

print(f"Random Tensor: \n {rand_tensor} \n")
print(f"Ones Tensor: \n {ones_tensor} \n")
print(f"Zeros Tensor: \n {zeros_tensor}")

tensor = torch.rand(3, 4)

print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")

if torch.cuda.is_available():
    tensor = tensor.to("cuda")
print(torch.accelerator.is_available() if hasattr(torch, "accelerator") else False)

tensor = torch.ones(4, 4)
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:,1] = 0
print(tensor)

t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)

# This computes the matrix multiplication between two tensors. y1, y2, y3 will have the same value
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)

y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
print(y1, y2, y3, sep="\n")

# This computes the element-wise product. z1, z2, z3 will have the same value
z1 = tensor * tensor
z2 = tensor.mul(tensor)

z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(z1, z2, z3, sep="\n")

agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))

print(f"{tensor} \n")
tensor.add_(5)
print(tensor)

t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")

t.add_(1)
print(f"t: {t}")
print(f"n: {n}")

n = np.ones(5)
t = torch.from_numpy(n)

np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")

# A few more creation / indexing idioms from the docs
print(torch.arange(10).reshape(2, 5)[:, ::2])
print(torch.zeros(2, 3, dtype=torch.long), torch.empty(0).shape)
print(torch.tensor(3.5).item(), torch.tensor([True, False]).dtype)
x = torch.arange(12.).view(3, 4)
print(x[x > 5], x[[0, 2]], x[1:, [1, 3]])
print(x.T.contiguous().view(-1))
print(x.size(), x.size(1), x.dim(), x.ndim, x.numel(), len(x))
print(torch.stack([x, x]).shape, torch.stack([x, x], dim=2).shape)
print(x.mean(dim=0), x.max(), x.max(dim=1), x.argmax(dim=1))
print(x.std(), x.var(dim=1, keepdim=True))
print(torch.eye(3), torch.full((2, 2), 7))
print(torch.linspace(0, 1, steps=5), torch.arange(0, 1, 0.25))
print(x.tolist(), x[0, 0].item())
print(torch.tensor([[1, 2], [3, 4]], dtype=torch.float64))
print(torch.zeros(3).type(torch.int64), x.float().dtype, x.long().dtype, x.to(torch.int32).dtype)
