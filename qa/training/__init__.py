"""What only training needs: the QA data mix, the training loop, checkpoint choice and calibration."""
