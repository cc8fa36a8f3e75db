"""Google Gemini (Generative Language API v1beta): chat, streaming, embeddings, and images
through Imagen or Gemini's own image models, translated to and from OpenAI's wire format."""
