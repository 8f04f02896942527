"""Stage II and III networks: G1 (U-Net), G2 (refiner) and the DCGAN discriminator."""
