package dev.parley.gpu.embedding;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a {@link SpeakerTdnn} as a TorchScript archive, the format {@code torch.jit.save} writes,
 * without Python: the forward pass as TorchScript source, the weights as tensor attributes in a
 * protocol-2 pickle. Tests use it to run the WeSpeaker-contract path ({@link TorchScriptSpeakerModel})
 * on a real speaker model and compare it with the DJL block it came from.
 */
final class TorchScriptTdnn {
  private static final String ROOT = "parley_tdnn/";
  private static final int[][] LAYERS = {{5, 1}, {3, 2}, {3, 3}, {1, 1}, {1, 1}};

  private TorchScriptTdnn() {}

  static void write(SpeakerTdnn block, Path out) throws IOException {
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    for (int i = 0; i < LAYERS.length; i++) {
      tensors.put("c" + i + "_w", param(block, "conv" + i, Parameter.Type.WEIGHT));
      tensors.put("c" + i + "_b", param(block, "conv" + i, Parameter.Type.BIAS));
      tensors.put("n" + i + "_g", param(block, "bn" + i, Parameter.Type.GAMMA));
      tensors.put("n" + i + "_b", param(block, "bn" + i, Parameter.Type.BETA));
      tensors.put("n" + i + "_m", param(block, "bn" + i, Parameter.Type.RUNNING_MEAN));
      tensors.put("n" + i + "_v", param(block, "bn" + i, Parameter.Type.RUNNING_VAR));
    }
    tensors.put("e_w", param(block, "embedding", Parameter.Type.WEIGHT));
    tensors.put("e_b", param(block, "embedding", Parameter.Type.BIAS));

    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(out))) {
      put(zip, "version", "3\n".getBytes(StandardCharsets.US_ASCII));
      put(zip, "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
      put(zip, "constants.pkl", new byte[] {(byte) 0x80, 2, ')', '.'});
      put(zip, "code/__torch__/parley.py", source(tensors.keySet()).getBytes(StandardCharsets.UTF_8));
      Pickle pkl = new Pickle();
      pkl.global("__torch__.parley", "SpeakerTdnn").op(')').op(0x81).op('}').op('(');
      pkl.string("training").op(0x89);
      int key = 0;
      for (var e : tensors.entrySet()) {
        pkl.string(e.getKey()).tensor(String.valueOf(key), e.getValue().getShape().getShape());
        float[] values = e.getValue().toFloatArray();
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        put(zip, "data/" + key, bytes.array());
        key++;
      }
      pkl.op('u').op('b').op('.');
      put(zip, "data.pkl", pkl.bytes());
    }
  }

  private static NDArray param(SpeakerTdnn block, String child, Parameter.Type type) {
    for (var p : block.getParameters()) {
      String name = p.getKey();
      if (name.matches("\\d*" + child + "_.*") && p.getValue().getType() == type) {
        return p.getValue().getArray();
      }
    }
    throw new IllegalStateException("no " + type + " parameter in " + child + ": " + block.getParameters().keys());
  }

  /** The TDNN's forward pass in TorchScript's serialized dialect; the same ops as {@link SpeakerTdnn}. */
  private static String source(Iterable<String> attributes) {
    StringBuilder s = new StringBuilder("class SpeakerTdnn(Module):\n");
    s.append("  __parameters__ = []\n  __buffers__ = []\n  training : bool\n");
    for (String a : attributes) {
      s.append("  ").append(a).append(" : Tensor\n");
    }
    s.append("  def forward(self: __torch__.parley.SpeakerTdnn,\n    x: Tensor) -> Tensor:\n");
    s.append("    h = torch.transpose(x, 1, 2)\n");
    for (int i = 0; i < LAYERS.length; i++) {
      int k = LAYERS[i][0];
      int d = LAYERS[i][1];
      s.append(String.format(
          "    h = torch.relu(torch.conv1d(h, self.c%1$d_w, self.c%1$d_b, [1], [%2$d], [%3$d]))%n", i, (k - 1) / 2 * d, d));
      s.append(String.format(
          "    h = torch.batch_norm(h, self.n%1$d_g, self.n%1$d_b, self.n%1$d_m, self.n%1$d_v, False, 0.1, 1.0000000000000001e-05, False)%n", i));
    }
    s.append("    mean = torch.mean(h, [2])\n");
    s.append("    var = torch.mean(torch.pow(torch.sub(h, torch.unsqueeze(mean, 2)), 2), [2])\n");
    s.append("    std = torch.sqrt(torch.clamp_min(var, 1.0000000000000001e-05))\n");
    s.append("    return torch.linear(torch.cat([mean, std], 1), self.e_w, self.e_b)\n");
    return s.toString();
  }

  private static void put(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
    zip.putNextEntry(new ZipEntry(ROOT + name));
    zip.write(bytes);
    zip.closeEntry();
  }

  /** The few pickle opcodes a TorchScript {@code data.pkl} needs. */
  private static final class Pickle {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Pickle() {
      op(0x80).op(2); // PROTO 2
    }

    Pickle op(int code) {
      out.write(code);
      return this;
    }

    Pickle global(String module, String name) {
      op('c');
      out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
      return this;
    }

    Pickle string(String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      op('X').int32(b.length);
      out.writeBytes(b);
      return this;
    }

    Pickle integer(long v) {
      return op('J').int32((int) v);
    }

    private Pickle int32(int v) {
      out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
      return this;
    }

    /** {@code torch._utils._rebuild_tensor_v2} of a contiguous float tensor stored as {@code data/key}. */
    Pickle tensor(String key, long[] shape) {
      long numel = 1;
      for (long d : shape) {
        numel *= d;
      }
      global("torch._utils", "_rebuild_tensor_v2").op('(');
      op('(').string("storage").global("torch", "FloatStorage").string(key).string("cpu").integer(numel)
          .op('t').op('Q'); // TUPLE, BINPERSID
      integer(0).op('(');
      for (long d : shape) {
        integer(d);
      }
      op('t').op('(');
      List<Long> strides = new ArrayList<>();
      long stride = 1;
      for (int i = shape.length - 1; i >= 0; i--) {
        strides.add(0, stride);
        stride *= shape[i];
      }
      for (long st : strides) {
        integer(st);
      }
      op('t').op(0x89); // requires_grad False
      global("collections", "OrderedDict").op(')').op('R');
      return op('t').op('R');
    }

    byte[] bytes() {
      return out.toByteArray();
    }
  }
}
