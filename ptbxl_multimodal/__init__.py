"""PTB-XL multimodal ECG classification: data, signal processing, models, training and evaluation (no DVC inside)."""
