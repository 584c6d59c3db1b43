"""Renames LDM single-file keys to the diffusers folder layout (unet/, text_encoder/, vae/), following the published
diffusers module names: ResBlock in_layers/out_layers -> norm1/conv1/norm2/conv2, emb_layers -> time_emb_proj,
input_blocks/output_blocks -> down_blocks/up_blocks by level, VAE mid.attn_1 q/k/v -> to_q/to_k/to_v (Linear)."""
import re

from sd1 import CLIP, UNET, VAE


def unet(sd, cfg):
    out = {}
    levels = len(cfg.channel_mult)
    nrb = cfg.num_res_blocks
    res_names = {"in_layers.0": "norm1", "in_layers.2": "conv1", "emb_layers.1": "time_emb_proj",
                 "out_layers.0": "norm2", "out_layers.3": "conv2", "skip_connection": "conv_shortcut"}

    def res(rest):
        for a, b in res_names.items():
            if rest.startswith(a + "."):
                return b + rest[len(a):]
        raise KeyError(rest)

    for key, t in sd.items():
        if not key.startswith(UNET):
            continue
        k = key[len(UNET):]
        m = re.match(r"time_embed\.(0|2)\.(.*)", k)
        if m:
            out[f"time_embedding.linear_{1 if m[1] == '0' else 2}.{m[2]}"] = t
            continue
        m = re.match(r"label_emb\.0\.(0|2)\.(.*)", k)
        if m:  # SDXL's added (pooled text + size) embedding
            out[f"add_embedding.linear_{1 if m[1] == '0' else 2}.{m[2]}"] = t
            continue
        if k.startswith("input_blocks.0.0."):
            out["conv_in." + k[len("input_blocks.0.0."):]] = t
            continue
        m = re.match(r"input_blocks\.(\d+)\.(\d+)\.(.*)", k)
        if m:
            i, j, rest = int(m[1]), int(m[2]), m[3]
            level, pos = (i - 1) // (nrb + 1), (i - 1) % (nrb + 1)
            if pos == nrb:
                out[f"down_blocks.{level}.downsamplers.0.conv.{rest[len('op.'):]}"] = t
            elif j == 0:
                out[f"down_blocks.{level}.resnets.{pos}.{res(rest)}"] = t
            else:
                out[f"down_blocks.{level}.attentions.{pos}.{rest}"] = t
            continue
        m = re.match(r"middle_block\.(\d)\.(.*)", k)
        if m:
            j, rest = int(m[1]), m[2]
            out[f"mid_block.attentions.0.{rest}" if j == 1 else f"mid_block.resnets.{j // 2}.{res(rest)}"] = t
            continue
        m = re.match(r"output_blocks\.(\d+)\.(\d+)\.(.*)", k)
        if m:
            i, j, rest = int(m[1]), int(m[2]), m[3]
            up, pos = i // (nrb + 1), i % (nrb + 1)
            if j == 0:
                out[f"up_blocks.{up}.resnets.{pos}.{res(rest)}"] = t
            elif rest.startswith("conv."):
                out[f"up_blocks.{up}.upsamplers.0.{rest}"] = t
            else:
                out[f"up_blocks.{up}.attentions.{pos}.{rest}"] = t
            continue
        m = re.match(r"out\.(0|2)\.(.*)", k)
        if m:
            out[("conv_norm_out." if m[1] == "0" else "conv_out.") + m[2]] = t
            continue
        raise KeyError(key)
    return out


def text_encoder(sd):
    return {"text_model." + k[len(CLIP):]: t for k, t in sd.items() if k.startswith(CLIP)}


def vae(sd, cfg):
    out = {}
    levels = len(cfg.ch_mult)
    res_names = {"nin_shortcut": "conv_shortcut"}
    attn_names = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}
    for key, t in sd.items():
        if not key.startswith(VAE):
            continue
        k = key[len(VAE):]
        k = re.sub(r"^(encoder|decoder)\.norm_out\.", r"\1.conv_norm_out.", k)
        m = re.match(r"(encoder|decoder)\.mid\.attn_1\.(\w+)\.(weight|bias)", k)
        if m:
            if t.dim() == 4:
                t = t[:, :, 0, 0]
            out[f"{m[1]}.mid_block.attentions.0.{attn_names[m[2]]}.{m[3]}"] = t
            continue
        m = re.match(r"(encoder|decoder)\.mid\.block_(\d)\.(\w+)\.(.*)", k)
        if m:
            out[f"{m[1]}.mid_block.resnets.{int(m[2]) - 1}.{res_names.get(m[3], m[3])}.{m[4]}"] = t
            continue
        m = re.match(r"encoder\.down\.(\d+)\.(block\.(\d+)\.(\w+)|downsample\.conv)\.(.*)", k)
        if m:
            if m[3] is None:
                out[f"encoder.down_blocks.{m[1]}.downsamplers.0.conv.{m[5]}"] = t
            else:
                out[f"encoder.down_blocks.{m[1]}.resnets.{m[3]}.{res_names.get(m[4], m[4])}.{m[5]}"] = t
            continue
        m = re.match(r"decoder\.up\.(\d+)\.(block\.(\d+)\.(\w+)|upsample\.conv)\.(.*)", k)
        if m:
            up = levels - 1 - int(m[1])
            if m[3] is None:
                out[f"decoder.up_blocks.{up}.upsamplers.0.conv.{m[5]}"] = t
            else:
                out[f"decoder.up_blocks.{up}.resnets.{m[3]}.{res_names.get(m[4], m[4])}.{m[5]}"] = t
            continue
        out[k] = t
    return out
