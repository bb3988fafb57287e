"""Signal processing: resampling and filters, FFT spectra and spectrograms."""
