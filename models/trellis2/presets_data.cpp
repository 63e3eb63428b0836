// Generated from models/trellis2/presets/{tiny,released}.json (tests check they match).
#include <string>
namespace tessera::models::trellis2::presets {
extern const char* const kTiny;
const char* const kTiny = R"TESSERA_JSON({
 "_comment": "Tiny TRELLIS.2 for tests: the released architecture (same classes, flags and tree shape) with 2 blocks, 64 channels, 2 heads of 32 (RoPE: 5 pairs per axis + 1 padding pair), 8 latent channels, 3 decoder levels, a 2-layer DINOv3 of width 32. The SS flow latent grid is 8^3 and the SS decoder upsamples it to 32^3; its output bias is set ('init') so that about 3% of the 32^3 cells are occupied, as in real outputs, which keeps the demo pipeline small.",
 "models": {
  "sparse_structure_flow_model": {
   "path": "ckpts/ss_flow_tiny",
   "name": "SparseStructureFlowModel",
   "args": {
    "resolution": 8,
    "in_channels": 4,
    "out_channels": 4,
    "model_channels": 64,
    "cond_channels": 32,
    "num_blocks": 2,
    "num_heads": 2,
    "mlp_ratio": 2.5,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "sparse_structure_decoder": {
   "path": "ckpts/ss_dec_tiny",
   "name": "SparseStructureDecoder",
   "init": {"out_layer.2.bias": -0.85},
   "args": {
    "out_channels": 1,
    "latent_channels": 4,
    "num_res_blocks": 1,
    "num_res_blocks_middle": 1,
    "channels": [
     16,
     8,
     4
    ],
    "use_fp16": true
   }
  },
  "shape_slat_flow_model_512": {
   "path": "ckpts/shape_flow_tiny_512",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 8,
    "in_channels": 8,
    "out_channels": 8,
    "model_channels": 64,
    "cond_channels": 32,
    "num_blocks": 2,
    "num_heads": 2,
    "mlp_ratio": 2.5,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "shape_slat_flow_model_1024": {
   "path": "ckpts/shape_flow_tiny_1024",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 16,
    "in_channels": 8,
    "out_channels": 8,
    "model_channels": 64,
    "cond_channels": 32,
    "num_blocks": 2,
    "num_heads": 2,
    "mlp_ratio": 2.5,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "tex_slat_flow_model_512": {
   "path": "ckpts/tex_flow_tiny_512",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 8,
    "in_channels": 16,
    "out_channels": 8,
    "model_channels": 64,
    "cond_channels": 32,
    "num_blocks": 2,
    "num_heads": 2,
    "mlp_ratio": 2.5,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "tex_slat_flow_model_1024": {
   "path": "ckpts/tex_flow_tiny_1024",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 8,
    "in_channels": 16,
    "out_channels": 8,
    "model_channels": 64,
    "cond_channels": 32,
    "num_blocks": 2,
    "num_heads": 2,
    "mlp_ratio": 2.5,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "shape_slat_decoder": {
   "path": "ckpts/shape_dec_tiny",
   "name": "FlexiDualGridVaeDecoder",
   "args": {
    "resolution": 64,
    "model_channels": [
     32,
     16,
     8
    ],
    "latent_channels": 8,
    "num_blocks": [
     1,
     1,
     0
    ],
    "block_type": [
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d"
    ],
    "up_block_type": [
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d"
    ],
    "block_args": [
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     }
    ],
    "use_fp16": true
   }
  },
  "tex_slat_decoder": {
   "path": "ckpts/tex_dec_tiny",
   "name": "SparseUnetVaeDecoder",
   "args": {
    "out_channels": 6,
    "pred_subdiv": false,
    "model_channels": [
     32,
     16,
     8
    ],
    "latent_channels": 8,
    "num_blocks": [
     1,
     1,
     0
    ],
    "block_type": [
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d"
    ],
    "up_block_type": [
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d"
    ],
    "block_args": [
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     }
    ],
    "use_fp16": true
   }
  }
 },
 "image_cond_model": {
  "model_name": "tessera-tiny/dinov3-tiny",
  "config": {
   "hidden_act": "gelu",
   "hidden_size": 32,
   "intermediate_size": 64,
   "key_bias": false,
   "layer_norm_eps": 1e-05,
   "layerscale_value": 1.0,
   "mlp_bias": true,
   "model_type": "dinov3_vit",
   "num_attention_heads": 2,
   "num_channels": 3,
   "num_hidden_layers": 2,
   "num_register_tokens": 4,
   "patch_size": 16,
   "proj_bias": true,
   "query_bias": true,
   "rope_theta": 100.0,
   "use_gated_mlp": false,
   "value_bias": true
  }
 }
})TESSERA_JSON";
extern const char* const kReleased;
const char* const kReleased = R"TESSERA_JSON({
 "_comment": "The released TRELLIS.2-4B networks. Per-model args are those of microsoft/TRELLIS.2 configs/gen/*.json and configs/scvae/*.json at 5565d24 (decoder / denoiser blocks), plus dtype bfloat16 for the flows (an assumption: the released ckpts/*.json were not read). The SS decoder args are TRELLIS v1's ss_dec_conv3d_16l8_fp16 (spec section 3.2). DINOv3: facebook/dinov3-vitl16-pretrain-lvd1689m config values (hidden 1024, 24 layers, 16 heads, MLP 4096, 4 registers, no k bias).",
 "models": {
  "sparse_structure_flow_model": {
   "path": "ckpts/ss_flow_img_dit_1_3B_64_bf16",
   "name": "SparseStructureFlowModel",
   "args": {
    "resolution": 16,
    "in_channels": 8,
    "out_channels": 8,
    "model_channels": 1536,
    "cond_channels": 1024,
    "num_blocks": 30,
    "num_heads": 12,
    "mlp_ratio": 5.3334,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "sparse_structure_decoder": {
   "path": "microsoft/TRELLIS-image-large/ckpts/ss_dec_conv3d_16l8_fp16",
   "name": "SparseStructureDecoder",
   "args": {
    "out_channels": 1,
    "latent_channels": 8,
    "num_res_blocks": 2,
    "num_res_blocks_middle": 2,
    "channels": [
     512,
     128,
     32
    ],
    "use_fp16": true
   }
  },
  "shape_slat_flow_model_512": {
   "path": "ckpts/slat_flow_img2shape_dit_1_3B_512_bf16",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 32,
    "in_channels": 32,
    "out_channels": 32,
    "model_channels": 1536,
    "cond_channels": 1024,
    "num_blocks": 30,
    "num_heads": 12,
    "mlp_ratio": 5.3334,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "shape_slat_flow_model_1024": {
   "path": "ckpts/slat_flow_img2shape_dit_1_3B_1024_bf16",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 64,
    "in_channels": 32,
    "out_channels": 32,
    "model_channels": 1536,
    "cond_channels": 1024,
    "num_blocks": 30,
    "num_heads": 12,
    "mlp_ratio": 5.3334,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "tex_slat_flow_model_512": {
   "path": "ckpts/slat_flow_imgshape2tex_dit_1_3B_512_bf16",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 32,
    "in_channels": 64,
    "out_channels": 32,
    "model_channels": 1536,
    "cond_channels": 1024,
    "num_blocks": 30,
    "num_heads": 12,
    "mlp_ratio": 5.3334,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "tex_slat_flow_model_1024": {
   "path": "ckpts/slat_flow_imgshape2tex_dit_1_3B_1024_bf16",
   "name": "SLatFlowModel",
   "args": {
    "resolution": 32,
    "in_channels": 64,
    "out_channels": 32,
    "model_channels": 1536,
    "cond_channels": 1024,
    "num_blocks": 30,
    "num_heads": 12,
    "mlp_ratio": 5.3334,
    "pe_mode": "rope",
    "share_mod": true,
    "initialization": "scaled",
    "qk_rms_norm": true,
    "qk_rms_norm_cross": true,
    "dtype": "bfloat16"
   }
  },
  "shape_slat_decoder": {
   "path": "ckpts/shape_dec_next_dc_f16c32_fp16",
   "name": "FlexiDualGridVaeDecoder",
   "args": {
    "resolution": 256,
    "model_channels": [
     1024,
     512,
     256,
     128,
     64
    ],
    "latent_channels": 32,
    "num_blocks": [
     4,
     16,
     8,
     4,
     0
    ],
    "block_type": [
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d"
    ],
    "up_block_type": [
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d"
    ],
    "block_args": [
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": true
     },
     {
      "use_checkpoint": true
     }
    ],
    "use_fp16": true
   }
  },
  "tex_slat_decoder": {
   "path": "ckpts/tex_dec_next_dc_f16c32_fp16",
   "name": "SparseUnetVaeDecoder",
   "args": {
    "out_channels": 6,
    "pred_subdiv": false,
    "model_channels": [
     1024,
     512,
     256,
     128,
     64
    ],
    "latent_channels": 32,
    "num_blocks": [
     4,
     16,
     8,
     4,
     0
    ],
    "block_type": [
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d",
     "SparseConvNeXtBlock3d"
    ],
    "up_block_type": [
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d",
     "SparseResBlockC2S3d"
    ],
    "block_args": [
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": false
     },
     {
      "use_checkpoint": true
     },
     {
      "use_checkpoint": true
     }
    ],
    "use_fp16": true
   }
  }
 },
 "image_cond_model": {
  "model_name": "facebook/dinov3-vitl16-pretrain-lvd1689m",
  "config": {
   "architectures": [
    "DINOv3ViTModel"
   ],
   "attention_dropout": 0.0,
   "drop_path_rate": 0.0,
   "hidden_act": "gelu",
   "hidden_size": 1024,
   "image_size": 224,
   "initializer_range": 0.02,
   "intermediate_size": 4096,
   "key_bias": false,
   "layer_norm_eps": 1e-05,
   "layerscale_value": 1.0,
   "mlp_bias": true,
   "model_type": "dinov3_vit",
   "num_attention_heads": 16,
   "num_channels": 3,
   "num_hidden_layers": 24,
   "num_register_tokens": 4,
   "patch_size": 16,
   "pos_embed_jitter": null,
   "pos_embed_rescale": 2.0,
   "pos_embed_shift": null,
   "proj_bias": true,
   "query_bias": true,
   "rope_theta": 100.0,
   "torch_dtype": "float32",
   "use_gated_mlp": false,
   "value_bias": true
  }
 },
 "shape_slat_normalization": {
  "mean": [
   0.781296,
   0.018091,
   -0.495192,
   -0.558457,
   1.06053,
   0.093252,
   1.518149,
   -0.933218,
   -0.732996,
   2.604095,
   -0.118341,
   -2.143904,
   0.495076,
   -2.179512,
   -2.130751,
   -0.996944,
   0.261421,
   -2.217463,
   1.260067,
   -0.150213,
   3.790713,
   1.481266,
   -1.046058,
   -1.523667,
   -0.059621,
   2.22078,
   1.621212,
   0.87723,
   0.567247,
   -3.175944,
   -3.186688,
   1.578665
  ],
  "std": [
   5.972266,
   4.706852,
   5.44501,
   5.209927,
   5.32022,
   4.547237,
   5.020802,
   5.444004,
   5.226681,
   5.683095,
   4.831436,
   5.286469,
   5.652043,
   5.367606,
   5.525084,
   4.730578,
   4.805265,
   5.124013,
   5.530808,
   5.619001,
   5.10393,
   5.41767,
   5.269677,
   5.547194,
   5.634698,
   5.235274,
   6.110351,
   5.511298,
   6.237273,
   4.879207,
   5.347008,
   5.405691
  ]
 },
 "tex_slat_normalization": {
  "mean": [
   3.501659,
   2.212398,
   2.226094,
   0.251093,
   -0.026248,
   -0.687364,
   0.439898,
   -0.928075,
   0.029398,
   -0.339596,
   -0.869527,
   1.038479,
   -0.972385,
   0.126042,
   -1.129303,
   0.455149,
   -1.209521,
   2.069067,
   0.544735,
   2.569128,
   -0.323407,
   2.293,
   -1.925608,
   -1.217717,
   1.213905,
   0.971588,
   -0.023631,
   0.10675,
   2.021786,
   0.250524,
   -0.662387,
   -0.768862
  ],
  "std": [
   2.665652,
   2.743913,
   2.765121,
   2.595319,
   3.037293,
   2.291316,
   2.144656,
   2.911822,
   2.969419,
   2.501689,
   2.154811,
   3.163343,
   2.621215,
   2.381943,
   3.186697,
   3.021588,
   2.295916,
   3.234985,
   3.233086,
   2.26014,
   2.874801,
   2.810596,
   3.29272,
   2.674999,
   2.680878,
   2.372054,
   2.451546,
   2.353556,
   2.995195,
   2.379849,
   2.786195,
   2.77519
  ]
 }
})TESSERA_JSON";
}  // namespace tessera::models::trellis2::presets
