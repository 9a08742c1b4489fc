"""Tiny random CLIP and SigLIP vision encoders and a LLaVA projector from transformers, with
transformers' outputs and its image processors' (PIL backend) preprocessed pixels.

Each model lives in Fixtures/vision/<name>/ as transformers saves it (config.json,
model.safetensors, preprocessor_config.json). Beside it, reference/ holds:

    pixels.npy            float32 [B, 3, H, W], the forward input (already normalised)
    last_hidden.npy       last_hidden_state [B, tokens, hidden]
    hidden_states.npy     every hidden_states[k] stacked: [layers + 1, B, tokens, hidden]
    pooled.npy            pooler_output [B, hidden]
    embeds.npy            image_embeds [B, projection_dim] (CLIP with a projection)
    projected.npy         the LLaVA projector's output [B, patches, text_hidden] (LLaVA)
    resized_pixels.npy    an input of another size, run with interpolate_pos_encoding=True
    resized_last_hidden.npy

Fixtures/vision/images/ holds small photo-like PNG and JPEG files made with PIL, and for each
model the processor's pixel_values (`<model>-<image>.npy`) and the model's last hidden state on
them (`<model>-<image>-hidden.npy`).
"""
import json
import pathlib
import shutil

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from safetensors.torch import load_file, save_file

from .common import save_npy, write_json

CLIP_VISION = dict(
    hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=4, image_size=30,
    patch_size=6, hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=20,
)
SIGLIP_VISION = dict(
    hidden_size=32, intermediate_size=40, num_hidden_layers=2, num_attention_heads=4, image_size=28,
    patch_size=7, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
)
TEXT = dict(vocab_size=64, hidden_size=24, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
            max_position_embeddings=16)


def photo(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like RGB image: smooth colour gradients, a few soft shapes and sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin(x / width * 3.1 + seed)
    g = 128 + 100 * np.cos(y / height * 2.3 - seed)
    b = 255 * (x + y) / (width + height)
    base = np.stack([r, g, b], axis=-1)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        size = rng.integers(4, max(5, min(width, height) // 2))
        draw.ellipse([x0, y0, x0 + size, y0 + size], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    noisy = np.asarray(image).astype(np.float32) + rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def real_photos() -> list[pathlib.Path]:
    """scikit-learn's sample photographs (china.jpg, flower.jpg), shipped inside the package."""
    import sklearn
    folder = pathlib.Path(sklearn.__file__).parent / "datasets" / "images"
    return sorted(folder.glob("*.jpg"))


def write_images(directory: pathlib.Path) -> list[pathlib.Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    landscape = photo(75, 52, 1)
    landscape.save(directory / "landscape.jpg", quality=90)
    paths.append(directory / "landscape.jpg")
    portrait = photo(23, 41, 2)
    portrait.save(directory / "portrait.png")
    paths.append(directory / "portrait.png")
    with_alpha = photo(40, 40, 3).convert("RGBA")
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (40, 1)))
    with_alpha.putalpha(alpha)
    with_alpha.save(directory / "alpha.png")
    paths.append(directory / "alpha.png")
    photo(64, 48, 4).convert("L").save(directory / "gray.jpg", quality=85)
    paths.append(directory / "gray.jpg")
    photo(50, 30, 5).convert("P", palette=Image.ADAPTIVE, colors=32).save(directory / "palette.png")
    paths.append(directory / "palette.png")
    # Real photographs as a package ships them: scikit-learn's sample images (427 x 640 JPEG).
    for photo_path in real_photos():
        target = directory / f"photo-{photo_path.stem}.jpg"
        shutil.copyfile(photo_path, target)
        paths.append(target)
    (directory / "corrupt.png").write_bytes((directory / "portrait.png").read_bytes()[:90])
    (directory / "corrupt.jpg").write_bytes((directory / "landscape.jpg").read_bytes()[:300])
    save_npy(directory / "pixels-float64.npy", np.zeros((1, 3, 6, 6)))  # the wrong dtype for --pixels
    return paths


def record(model, pixels: torch.Tensor, out: pathlib.Path, projection: bool) -> None:
    with torch.no_grad():
        result = model(pixel_values=pixels, output_hidden_states=True)
    save_npy(out / "pixels.npy", pixels.numpy())
    save_npy(out / "last_hidden.npy", result.last_hidden_state.numpy())
    save_npy(out / "hidden_states.npy", torch.stack(result.hidden_states).numpy())
    if projection:
        save_npy(out / "embeds.npy", result.image_embeds.numpy())
        with torch.no_grad():
            pooled = model.vision_model(pixel_values=pixels).pooler_output
        save_npy(out / "pooled.npy", pooled.numpy())
    else:
        save_npy(out / "pooled.npy", result.pooler_output.numpy())


def record_resized(model, height: int, width: int, out: pathlib.Path, seed: int) -> None:
    torch.manual_seed(seed)
    pixels = torch.randn(1, 3, height, width)
    with torch.no_grad():
        result = model(pixel_values=pixels, interpolate_pos_encoding=True)
    save_npy(out / "resized_pixels.npy", pixels.numpy())
    save_npy(out / "resized_last_hidden.npy", result.last_hidden_state.numpy())


def record_images(model, processor, name: str, images: list[pathlib.Path], directory: pathlib.Path) -> None:
    for path in images:
        pixels = processor(images=[Image.open(path)], return_tensors="pt").pixel_values
        save_npy(directory / f"{name}-{path.stem}.npy", pixels.numpy())
        with torch.no_grad():
            hidden = model(pixel_values=pixels).last_hidden_state
        save_npy(directory / f"{name}-{path.stem}-hidden.npy", hidden.numpy())


def add_prefix(directory: pathlib.Path, prefix: str) -> None:
    """Rewrites model.safetensors with `prefix` before every key (transformers 4.x's layout)."""
    state = load_file(str(directory / "model.safetensors"))
    save_file({prefix + k: v for k, v in state.items()}, str(directory / "model.safetensors"),
              metadata={"format": "pt"})


def generate(root: pathlib.Path) -> None:
    from transformers import (CLIPConfig, CLIPModel, CLIPVisionConfig, CLIPVisionModelWithProjection,
                              LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, SiglipConfig, SiglipModel,
                              SiglipVisionConfig, SiglipVisionModel)
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    base = root / "vision"
    images = write_images(base / "images")
    clip_processor = CLIPImageProcessorPil(size={"shortest_edge": 30}, crop_size={"height": 30, "width": 30})
    siglip_processor = SiglipImageProcessorPil(size={"height": 28, "width": 28})

    # CLIP vision with its projection.
    torch.manual_seed(0)
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_VISION)).eval()
    directory = base / "clip-vision-tiny"
    clip.save_pretrained(directory)
    clip_processor.save_pretrained(directory)
    pixels = torch.randn(2, 3, 30, 30)
    record(clip, pixels, directory / "reference", projection=True)
    record_resized(clip.vision_model, 42, 36, directory / "reference", seed=10)
    record_images(clip.vision_model, clip_processor, "clip", images, base / "images")

    # SigLIP vision with the attention-pooling head (keys without a prefix, as transformers 5
    # saves them), and a copy with the `vision_model.` prefix transformers 4 wrote.
    torch.manual_seed(1)
    siglip = SiglipVisionModel(SiglipVisionConfig(**SIGLIP_VISION)).eval()
    directory = base / "siglip-vision-tiny"
    siglip.save_pretrained(directory)
    siglip_processor.save_pretrained(directory)
    pixels = torch.randn(2, 3, 28, 28)
    record(siglip, pixels, directory / "reference", projection=False)
    record_resized(siglip, 35, 21, directory / "reference", seed=11)
    record_images(siglip, siglip_processor, "siglip", images, base / "images")
    prefixed = base / "siglip-vision-tiny-prefixed"
    siglip.save_pretrained(prefixed)
    add_prefix(prefixed, "vision_model.")

    # Full contrastive models: the vision half is taken, the text half ignored.
    torch.manual_seed(2)
    clip_full = CLIPModel(CLIPConfig(text_config=TEXT, vision_config=CLIP_VISION, projection_dim=20)).eval()
    directory = base / "clip-tiny"
    clip_full.save_pretrained(directory)
    pixels = torch.randn(1, 3, 30, 30)
    with torch.no_grad():
        vision = clip_full.vision_model(pixel_values=pixels)
        embeds = clip_full.visual_projection(vision.pooler_output)
    out = directory / "reference"
    save_npy(out / "pixels.npy", pixels.numpy())
    save_npy(out / "last_hidden.npy", vision.last_hidden_state.numpy())
    save_npy(out / "pooled.npy", vision.pooler_output.numpy())
    save_npy(out / "embeds.npy", embeds.numpy())

    torch.manual_seed(3)
    siglip_full = SiglipModel(SiglipConfig(text_config=TEXT, vision_config=SIGLIP_VISION)).eval()
    directory = base / "siglip-tiny"
    siglip_full.save_pretrained(directory)
    pixels = torch.randn(1, 3, 28, 28)
    with torch.no_grad():
        vision = siglip_full.vision_model(pixel_values=pixels)
    out = directory / "reference"
    save_npy(out / "pixels.npy", pixels.numpy())
    save_npy(out / "last_hidden.npy", vision.last_hidden_state.numpy())
    save_npy(out / "pooled.npy", vision.pooler_output.numpy())

    # LLaVA: a CLIP tower, the two-layer projector and a one-layer Llama.
    torch.manual_seed(4)
    llava_config = LlavaConfig(
        vision_config=CLIPVisionConfig(**{k: v for k, v in CLIP_VISION.items() if k != "projection_dim"}),
        text_config=LlamaConfig(**TEXT), image_token_id=63, projector_hidden_act="gelu",
        vision_feature_layer=-2, vision_feature_select_strategy="default")
    llava = LlavaForConditionalGeneration(llava_config).eval()
    directory = base / "llava-tiny"
    llava.save_pretrained(directory)
    clip_processor.save_pretrained(directory)
    pixels = torch.randn(2, 3, 30, 30)
    with torch.no_grad():
        features = llava.model.get_image_features(pixel_values=pixels, vision_feature_layer=-2,
                                                  vision_feature_select_strategy="default")
        tower = llava.model.vision_tower(pixel_values=pixels, output_hidden_states=True)
    out = directory / "reference"
    save_npy(out / "pixels.npy", pixels.numpy())
    save_npy(out / "projected.npy", torch.stack(list(features.pooler_output)).numpy())
    save_npy(out / "hidden_states.npy", torch.stack(tower.hidden_states).numpy())
    save_npy(out / "last_hidden.npy", tower.last_hidden_state.numpy())
    write_json(out / "reference.json", {"vision_feature_layer": -2, "vision_feature_select_strategy": "default"})
    write_llava_mmproj(llava, base / "llava-tiny-gguf")


def llama_cpp_source() -> pathlib.Path | None:
    import os
    for c in [os.environ.get("LLAMA_CPP_DIR"), pathlib.Path(__file__).resolve().parents[1] / ".cache" / "llama.cpp"]:
        if c and (pathlib.Path(c) / "tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py").exists():
            return pathlib.Path(c)
    return None


def write_llava_mmproj(llava, directory: pathlib.Path) -> None:
    """LLaVA's vision tower and projector as llama.cpp's legacy image-encoder converter lays them out
    (`mmproj`, general.architecture = clip). The converter itself needs transformers 4's module
    layout, so its own `get_tensor_name` is taken from the script and the keys it writes are
    repeated here; gguf-py writes the file. As the converter does: the last block and
    post_layernorm are dropped, 4-D and projector weights are float16."""
    import ast
    import gguf
    root = llama_cpp_source()
    if root is None:
        print("llama.cpp sources not found: skipping the mmproj GGUF")
        return
    source = (root / "tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py").read_text()
    tree = ast.parse(source)
    namespace = {"re": __import__("re")}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "get_tensor_name":
            exec(compile(ast.Module(body=[node], type_ignores=[]), "convert_image_encoder_to_gguf.py", "exec"), namespace)
    get_tensor_name = namespace["get_tensor_name"]
    v = llava.config.vision_config
    directory.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(directory / "mmproj-f32.gguf"), arch="clip")
    writer.add_bool("clip.has_text_encoder", False)
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_bool("clip.has_llava_projector", True)
    writer.add_file_type(0)
    writer.add_string("clip.projector_type", "mlp")
    writer.add_uint32("clip.vision.image_size", v.image_size)
    writer.add_uint32("clip.vision.patch_size", v.patch_size)
    writer.add_uint32("clip.vision.embedding_length", v.hidden_size)
    writer.add_uint32("clip.vision.feed_forward_length", v.intermediate_size)
    writer.add_uint32("clip.vision.projection_dim", v.projection_dim)
    writer.add_uint32("clip.vision.attention.head_count", v.num_attention_heads)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", v.layer_norm_eps)
    writer.add_uint32("clip.vision.block_count", v.num_hidden_layers - 1)
    writer.add_array("clip.vision.image_mean", [0.48145466, 0.4578275, 0.40821073])
    writer.add_array("clip.vision.image_std", [0.26862954, 0.26130258, 0.27577711])
    writer.add_bool("clip.use_gelu", v.hidden_act == "gelu")
    for name, tensor in llava.model.multi_modal_projector.state_dict().items():
        data = tensor.numpy()
        writer.add_tensor(get_tensor_name("multi_modal_projector." + name), data.astype(np.float16 if data.ndim == 2 else np.float32))
    last = f"encoder.layers.{v.num_hidden_layers - 1}."
    for name, tensor in llava.model.vision_tower.state_dict().items():
        if name.startswith(last) or name.startswith("post_layernorm") or name.endswith("position_ids"):
            continue
        data = tensor.squeeze().numpy()
        writer.add_tensor(get_tensor_name("vision_model." + name), data.astype(np.float16 if data.ndim == 4 else np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
