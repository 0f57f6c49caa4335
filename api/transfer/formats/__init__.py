"""The formats a thread leaves and enters in: the ``playground.thread/v1`` document
(``document``), Markdown, OpenAI's chat format (``chat``), and the checks an imported
document passes before anything is stored (``checks``)."""
