# REINFORCE (policy gradient) on a synthetic contextual bandit: a small policy network picks one of
# four arms from a one-hot context, rewards are noisy, and the loss is -log pi(a|s) * advantage.
import torch
import torch.nn as nn
from torch.distributions import Categorical, Normal

torch.manual_seed(0)

n_contexts, n_arms = 3, 4
# mean reward of each arm in each context; the best arm differs per context
arm_means = torch.tensor([[0.1, 0.9, 0.2, 0.0],
                          [0.8, 0.1, 0.3, 0.2],
                          [0.0, 0.2, 0.4, 1.0]])
reward_noise = Normal(torch.zeros(n_arms), 0.1 * torch.ones(n_arms))
print(reward_noise, reward_noise.batch_shape)

policy = nn.Sequential(nn.Linear(n_contexts, 16), nn.Tanh(), nn.Linear(16, n_arms))
optimizer = torch.optim.Adam(policy.parameters(), lr=0.005)
baseline = 0.0
batch = 32

for episode in range(1, 151):
    contexts = torch.randint(0, n_contexts, (batch,))
    states = torch.nn.functional.one_hot(contexts, n_contexts).float()
    dist = Categorical(logits=policy(states))
    actions = dist.sample()
    rewards = arm_means[contexts, actions] + reward_noise.sample((batch,))[torch.arange(batch),
                                                                            actions]
    advantage = rewards - baseline
    loss = -(dist.log_prob(actions) * advantage).mean() - 0.01 * dist.entropy().mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    baseline = 0.9 * baseline + 0.1 * rewards.mean().item()
    if episode % 25 == 0:
        print(f"episode {episode:3d}  loss {loss.item():+.4f}  mean reward {rewards.mean().item():.4f}"
              f"  entropy {dist.entropy().mean().item():.4f}")

with torch.no_grad():
    final = Categorical(logits=policy(torch.eye(n_contexts)))
    print("greedy arms:", final.probs.argmax(-1).tolist(), "best arms:", arm_means.argmax(-1).tolist())
    print("p(best arm):", final.probs[torch.arange(n_contexts), arm_means.argmax(-1)])
    print("log_prob of the greedy arms:", final.log_prob(final.mode))
    uniform = Categorical(probs=torch.ones(n_contexts, n_arms))
    print("KL(policy || uniform):", torch.distributions.kl_divergence(final, uniform))
