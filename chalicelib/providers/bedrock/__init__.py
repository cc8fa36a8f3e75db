"""AWS Bedrock through boto3: chat via the Converse API (streamed via ConverseStream),
embeddings (Titan text, Cohere) and images (Titan Image Generator, Nova Canvas) via InvokeModel.

boto3 is imported on the first Bedrock call only, never when the app starts.
"""
