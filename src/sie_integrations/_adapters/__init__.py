"""The adapter core: what the LangChain and LlamaIndex adapters share, free of either framework."""
