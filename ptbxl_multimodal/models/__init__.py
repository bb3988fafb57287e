"""Model architectures: one plain torch.nn.Module per branch, and the fusion model over them."""
