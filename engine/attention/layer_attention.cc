// RunLayerAttention: dispatch of one layer's attention by kind (see layer_attention.h).
#include "engine/attention/layer_attention.h"

namespace attnserve {

void RunLayerAttention(Backend& be, const LayerAttention& layer, const AttentionShape& shape,
                       const LayerAttentionIo& io, std::vector<int32_t>& scratch) {
  switch (layer.kind) {
    case LayerAttention::Kind::kSoftmax:
      be.PagedAttention(io.q, io.kv, shape, layer.mask, io.out);
      return;
    case LayerAttention::Kind::kQuest: {
      const int64_t first_pos = shape.num_kv - shape.num_q;
      be.UpdateKeySummaries(io.kv, shape.kv_stride, first_pos, shape.num_q, io.key_summaries);
      scratch.resize(shape.num_q * shape.num_heads * layer.quest_top_k);
      be.QuestSelect(io.q, io.kv, io.key_summaries, shape, layer.quest_top_k, layer.quest_window,
                     scratch.data());
      AttentionMask mask;
      mask.kind = MaskKind::kBlockList;
      mask.window = layer.quest_window;
      mask.selected_blocks = scratch.data();
      mask.num_selected = layer.quest_top_k;
      mask.select_block = io.kv.block_size;
      be.PagedAttention(io.q, io.kv, shape, mask, io.out);
      return;
    }
    case LayerAttention::Kind::kLinear: {
      LinearAttentionShape ls;
      ls.num_tokens = shape.num_q;
      ls.num_heads = shape.num_heads;
      ls.num_kv_heads = shape.num_kv_heads;
      ls.head_dim = shape.head_dim;
      ls.kv_stride = shape.kv_stride;
      ls.scale = shape.scale;
      ls.feature_map = layer.feature_map;
      ls.num_features = layer.num_features;
      ls.projection = layer.projection.empty() ? nullptr : layer.projection.data();
      be.LinearAttention(io.q, io.k_new, io.v_new, ls, io.state + layer.state_offset, io.out);
      return;
    }
    case LayerAttention::Kind::kNone:
      return;  // not an attention layer: the model runs its state-space mixer instead
  }
}

}  // namespace attnserve
