package dev.parley.gpu.embedding;

import dev.parley.gpu.pipeline.ModelVersion;
import ai.djl.Device;
import ai.djl.MalformedModelException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * Parley's own {@link SpeakerTdnn} with weights trained by {@code train-embedding}. The default
 * weights are the classpath resources {@code models/parley-embed/parley-embed.params} (DJL
 * parameter format, read through an InputStream so they load from inside a jar) and {@code
 * models/parley-embed/model.properties} (layer sizes, training facts, held-out EER). When the
 * properties list {@value #MEMBERS_KEY}, the directory holds several networks of the same sizes,
 * trained with different random draws, and they run as one {@link EnsembleSpeakerModel}.
 *
 * <p>Thread safety: {@link #embed} runs the block directly with a fresh {@link ParameterStore} per
 * call, in inference mode, on parameters that are frozen (no gradient); calls may run concurrently.
 * Features are expected mean-normalised per window (the caller applies {@code Fbank.cmn}).
 */
public final class DefaultSpeakerModel implements SpeakerEmbeddingModel {
  public static final String RESOURCE_DIR = "models/parley-embed/";
  public static final String PARAMS_FILE = "parley-embed.params";
  public static final String PROPERTIES_FILE = "model.properties";
  public static final String ID = "parley-tdnn";
  /** {@code model.properties} key listing several weight files to run as one ensemble. */
  public static final String MEMBERS_KEY = "members";

  private final NDManager manager;
  private final SpeakerTdnn block;
  private final String version;

  private DefaultSpeakerModel(byte[] params, Properties properties, Device device)
      throws IOException, MalformedModelException {
    this.version = ModelVersion.of(params);
    this.manager = NDManager.newBaseManager(device);
    try {
      this.block = new SpeakerTdnn(SpeakerTdnn.Config.from(properties));
      block.initialize(manager, DataType.FLOAT32, new Shape(1, 200, 80));
      block.loadParameters(manager, new DataInputStream(new ByteArrayInputStream(params)));
      block.freezeParameters(true);
    } catch (IOException | MalformedModelException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Whether the committed default weights are on the classpath. */
  public static boolean available() {
    return DefaultSpeakerModel.class.getClassLoader().getResource(RESOURCE_DIR + PARAMS_FILE)
        != null;
  }

  /**
   * The weight files a model directory holds: {@value #MEMBERS_KEY} in its properties lists them
   * (comma-separated, run as one {@link EnsembleSpeakerModel}); without it, {@value #PARAMS_FILE}.
   */
  static List<String> memberFiles(Properties properties) {
    String members = properties.getProperty(MEMBERS_KEY, PARAMS_FILE);
    List<String> files = Arrays.stream(members.split(",")).map(String::trim).filter(f -> !f.isEmpty()).toList();
    for (String f : files) {
      if (f.contains("/") || f.contains("\\")) {
        throw new IllegalArgumentException(MEMBERS_KEY + " names files in the model's own directory, not " + f);
      }
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException(MEMBERS_KEY + " lists no weight files");
    }
    return files;
  }

  /** One model, or the ensemble of {@link #memberFiles}, read through {@code read}. */
  private static SpeakerEmbeddingModel assemble(Properties properties, ParamsReader read, Device device)
      throws IOException, MalformedModelException {
    List<String> files = memberFiles(properties);
    if (files.size() == 1) {
      return new DefaultSpeakerModel(read.bytes(files.get(0)), properties, device);
    }
    List<SpeakerEmbeddingModel> members = new ArrayList<>();
    try {
      for (String f : files) {
        members.add(new DefaultSpeakerModel(read.bytes(f), properties, device));
      }
    } catch (IOException | MalformedModelException | RuntimeException e) {
      members.forEach(SpeakerEmbeddingModel::close);
      throw e;
    }
    return new EnsembleSpeakerModel(members);
  }

  private interface ParamsReader {
    byte[] bytes(String file) throws IOException;
  }

  /**
   * Loads the committed default model (classpath) onto {@code device} (null: DJL default): one
   * network, or several run as one ensemble when its {@code model.properties} lists {@value
   * #MEMBERS_KEY}.
   */
  public static SpeakerEmbeddingModel load(Device device) {
    ClassLoader cl = DefaultSpeakerModel.class.getClassLoader();
    try (InputStream props = cl.getResourceAsStream(RESOURCE_DIR + PROPERTIES_FILE)) {
      if (props == null || !available()) {
        throw new IllegalStateException(
            "no default speaker embedding weights on the classpath ("
                + RESOURCE_DIR
                + PARAMS_FILE
                + "); train them with `train-embedding` or set PARLEY_EMBEDDING_MODEL");
      }
      Properties p = new Properties();
      p.load(new StringReader(new String(props.readAllBytes(), StandardCharsets.UTF_8)));
      return assemble(p, file -> {
        try (InputStream in = cl.getResourceAsStream(RESOURCE_DIR + file)) {
          if (in == null) throw new IOException("missing resource " + RESOURCE_DIR + file);
          return in.readAllBytes();
        }
      }, device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalStateException("cannot load the default speaker embedding weights", e);
    }
  }

  /** Loads weights saved by {@code SpeakerTdnn.saveParameters} from a file, with their sizes. */
  public static DefaultSpeakerModel load(Path params, Properties properties, Device device) {
    try {
      return new DefaultSpeakerModel(Files.readAllBytes(params), properties, device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalStateException("cannot load speaker embedding weights " + params, e);
    }
  }

  /**
   * Loads {@code train-embedding} output: {@code dir/model.properties} with {@code
   * dir/parley-embed.params}, or with the weight files its {@value #MEMBERS_KEY} lists.
   */
  public static SpeakerEmbeddingModel loadDirectory(Path dir, Device device) {
    Path props = dir.resolve(PROPERTIES_FILE);
    if (!Files.isRegularFile(props)) {
      throw new IllegalArgumentException("speaker model directory " + dir + " needs " + PARAMS_FILE + " and "
          + PROPERTIES_FILE + " (a train-embedding output)");
    }
    Properties p = new Properties();
    try (var in = Files.newBufferedReader(props, StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + props + ": " + e.getMessage(), e);
    }
    for (String f : memberFiles(p)) {
      if (!Files.isRegularFile(dir.resolve(f))) {
        throw new IllegalArgumentException("speaker model directory " + dir + " needs " + f + " and "
            + PROPERTIES_FILE + " (a train-embedding output)");
      }
    }
    try {
      return assemble(p, f -> Files.readAllBytes(dir.resolve(f)), device);
    } catch (IOException | MalformedModelException e) {
      throw new IllegalStateException("cannot load speaker embedding weights from " + dir, e);
    }
  }

  @Override
  public NDArray embed(NDArray features) {
    return BlockForward.run(block, manager.getDevice(), features);
  }

  @Override
  public int dimension() {
    return block.config().embeddingDim();
  }

  @Override
  public String id() {
    return ID;
  }

  @Override
  public String version() {
    return version;
  }

  @Override
  public void close() {
    manager.close();
  }


  /** Runs an inference forward pass with intermediates freed and the result on the input's manager. */
  static final class BlockForward {
    private BlockForward() {}

    static NDArray run(ai.djl.nn.Block block, Device device, NDArray features) {
      Shape s = features.getShape();
      if (s.dimension() != 3 || s.get(2) != 80 || s.get(0) < 1 || s.get(1) < 1) {
        throw new IllegalArgumentException("expected features [batch, frames>=1, 80], got " + s);
      }
      NDManager owner = features.getManager();
      try (NDManager scratch = owner.newSubManager(device)) {
        NDArray x = features.toDevice(device, false);
        if (x == features) {
          scratch.tempAttachAll(features);
        } else {
          x.attach(scratch);
        }
        NDArray out =
            block.forward(new ParameterStore(scratch, false), new NDList(x), false)
                .singletonOrThrow();
        out.attach(owner);
        return out;
      }
    }
  }
}
