package dev.parley.gpu.pipeline.clustering;

/**
 * The outcome of clustering: {@code labels[i]} in {@code 0..count-1} for item {@code i}, and
 * the L2-normalised, weight-averaged centroid of each cluster.
 */
public record Clustering(int[] labels, int count, float[][] centroids) {}
