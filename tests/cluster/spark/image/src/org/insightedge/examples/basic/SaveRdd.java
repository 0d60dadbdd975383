package org.insightedge.examples.basic;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Stand-in for GigaSpaces' SaveRdd example (the insightedge image's examples jar is not public):
 * the same class name and the same work, 100,000 products made in Spark's tasks, but counted
 * instead of written to a space. Where the connector would connect, it does what the 16.x
 * connector does first (InsightEdgeConfig.fromSparkConf): read the space name and manager from
 * the Spark properties, derive the lookup locator "<manager>-insightedge-manager-hs", and resolve
 * it, in the driver and in every task.
 */
public final class SaveRdd {
  static String locator(SparkConf conf) {
    return conf.getOption("spark.insightedge.space.manager").isDefined()
        ? conf.get("spark.insightedge.space.manager") + "-insightedge-manager-hs" : "insightedge-manager-hs";
  }

  static String resolve(String host) {
    try {
      return InetAddress.getByName(host).getHostAddress();
    } catch (Exception e) {
      return "unresolved (" + e + ")";
    }
  }

  public static void main(String[] args) {
    SparkConf conf = new SparkConf().setAppName("SaveRdd");
    JavaSparkContext jsc = new JavaSparkContext(conf);
    String space = conf.get("spark.insightedge.space.name", System.getenv().getOrDefault("INSIGHTEDGE_SPACE_NAME", "demo"));
    String locator = locator(conf);
    System.out.println("Lookup locator " + locator + " resolves in the driver to " + resolve(locator));
    int partitions = Math.max(2, jsc.defaultParallelism());
    List<Integer> ids = new ArrayList<>();
    for (int i = 0; i < 100000; i++) ids.add(i);
    long products = jsc.parallelize(ids, partitions).map(i -> "Product " + i).count();
    // reduce, not collect: Spark 2.4's closure cleaner cannot read the JDK 17 classes collect() leads it to
    // (the image runs Java 8; these runs use the host's JDK 17)
    String seen = jsc.parallelize(ids, partitions).map(i -> locator + " -> " + resolve(locator))
        .reduce((a, b) -> a.equals(b) ? a : String.join(", ", new TreeSet<>(Arrays.asList((a + ", " + b).split(", ")))));
    System.out.println("Lookup locator in the tasks: " + seen);
    System.out.println("Saved " + products + " products to space " + space + " (stand-in: counted, not written)");
    System.out.println("Executors used: " + jsc.sc().getExecutorIds().size());
    jsc.stop();
  }
}
