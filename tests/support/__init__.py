"""What tests share besides fake servers: paths, the live tier's constants, test images, reference computations."""
