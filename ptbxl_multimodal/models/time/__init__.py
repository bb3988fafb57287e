"""The signal (`time`) branch's architectures: the project's residual CNN and the PTB-XL benchmark's references."""
