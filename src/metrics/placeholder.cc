// placeholder; replaced by the metrics registry
