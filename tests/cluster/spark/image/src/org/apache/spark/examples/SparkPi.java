package org.apache.spark.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Stand-in for the SparkPi of Spark's examples jar (not shipped in the pyspark wheel):
 * the same class name, arguments and output line ("Pi is roughly ..."), computed the
 * same way (100000 random points per slice), without spark-sql.
 */
public final class SparkPi {
  public static void main(String[] args) {
    JavaSparkContext jsc = new JavaSparkContext(new SparkConf().setAppName("Spark Pi"));
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < slices; i++) ids.add(i);
    final int perSlice = 100000;
    long inside = jsc.parallelize(ids, slices).map(i -> {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      long count = 0;
      for (int k = 0; k < perSlice; k++) {
        double x = random.nextDouble() * 2 - 1, y = random.nextDouble() * 2 - 1;
        if (x * x + y * y <= 1) count++;
      }
      return count;
    }).reduce(Long::sum);
    System.out.println("Pi is roughly " + 4.0 * inside / ((long) perSlice * slices));
    System.out.println("Executors used: " + jsc.sc().getExecutorIds().size());
    jsc.stop();
  }
}
