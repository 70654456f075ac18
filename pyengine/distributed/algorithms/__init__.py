"""pyengine.distributed.algorithms: PyTorch's torch.distributed.algorithms - for now the DDP
communication hooks (ddp_comm_hooks)."""
