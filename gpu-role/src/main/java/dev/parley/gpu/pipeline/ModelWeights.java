package dev.parley.gpu.pipeline;

import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * The weights of one of Parley's own networks as {@code train-embedding} and {@code train-vad} write
 * them: a DJL parameter file beside a {@value #PROPERTIES_FILE} of layer sizes and training facts.
 * The committed ones are classpath resources, read through streams so that they load from inside the jar.
 *
 * @param version {@link ModelVersion} of the parameter file, recorded with every result
 */
public record ModelWeights(byte[] params, Properties properties, String version) {
  public static final String PROPERTIES_FILE = "model.properties";

  public static ModelWeights of(byte[] params, Properties properties) {
    return new ModelWeights(params, properties, ModelVersion.of(params));
  }

  /**
   * {@code dir + paramsFile} and {@code dir + model.properties} from the classpath.
   *
   * @param missing the message when they are not there
   * @throws IllegalStateException when they are missing or cannot be read: the build is broken
   */
  public static ModelWeights resource(String dir, String paramsFile, String missing) {
    ClassLoader cl = ModelWeights.class.getClassLoader();
    try (InputStream params = cl.getResourceAsStream(dir + paramsFile);
        InputStream props = cl.getResourceAsStream(dir + PROPERTIES_FILE)) {
      if (params == null || props == null) throw new IllegalStateException(missing);
      return of(params.readAllBytes(), properties(new String(props.readAllBytes(), StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + dir + paramsFile + " from the classpath", e);
    }
  }

  /**
   * {@code dir/paramsFile} and {@code dir/model.properties}: a training run's output.
   *
   * @param what what such a directory is, for the message when it lacks a file ("a train-vad output")
   * @throws IllegalArgumentException when a file is missing or cannot be read: the setting names the wrong place
   */
  public static ModelWeights directory(Path dir, String paramsFile, String what) {
    Path params = dir.resolve(paramsFile);
    Path props = dir.resolve(PROPERTIES_FILE);
    if (!Files.isRegularFile(params) || !Files.isRegularFile(props)) {
      throw new IllegalArgumentException(dir + " needs " + paramsFile + " and " + PROPERTIES_FILE + " (" + what + ")");
    }
    try {
      return of(Files.readAllBytes(params), properties(Files.readString(props, StandardCharsets.UTF_8)));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Initialises {@code block} for inputs shaped like {@code input} on {@code manager}, loads these weights, and freezes them. */
  public void loadInto(Block block, NDManager manager, Shape input) throws IOException, MalformedModelException {
    block.initialize(manager, DataType.FLOAT32, input);
    block.loadParameters(manager, new DataInputStream(new ByteArrayInputStream(params)));
    block.freezeParameters(true);
  }

  private static Properties properties(String text) throws IOException {
    Properties p = new Properties();
    p.load(new StringReader(text));
    return p;
  }
}
