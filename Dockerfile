# sortlist: Streamlit app for reverse-engineering a 1-layer attention-only sorting transformer.
#
#   docker build -t sortlist .
#   docker run --rm -p 8501:8501 sortlist        # then open http://localhost:8501
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    SORTLIST_HOSTED=1

WORKDIR /app

# bubblewrap: the code exercises' sandbox (README, "Code exercises"). It needs user namespaces,
# which Docker's default seccomp profile refuses. The image is a hosted deployment by default
# (SORTLIST_HOSTED=1 below): learner code runs only inside the sandbox, so under a plain
# `docker run` code exercises are OFF (the page says why) instead of running learner code next
# to the server's environment. Run with a seccomp profile that allows user namespaces to get
# them, or opt out with `-e SORTLIST_HOSTED=0` (process mode: README's guarantees table).
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

# Install the CPU-only torch build first, from the PyTorch CPU index: otherwise pip pulls
# several GB of CUDA wheels that this CPU-only app never uses. The pin must match
# requirements.txt, which then finds torch==2.13.0 already satisfied.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

COPY requirements.txt constraints.txt ./
RUN pip install --no-cache-dir -r requirements.txt -c constraints.txt

# Application code and start-up assets (see .dockerignore for what stays out).
COPY .streamlit/ ./.streamlit/
COPY assets/ ./assets/
COPY sortlist_core/ ./sortlist_core/
COPY sortlist_app/ ./sortlist_app/
COPY sortlist_progress/ ./sortlist_progress/
COPY pages/ ./pages/
COPY app.py ./

# circuitsvis's JavaScript, served by Streamlit from static/ (offline attention views): put it
# there at build time, so a read-only container filesystem works too.
RUN python -m sortlist_app.widgets.attention_view

# Run as an unprivileged user. static/ stays writable so that the app can replace the bundle
# if the installed circuitsvis changes.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin sortlist \
    && mkdir -p /app/static \
    && chown -R sortlist:sortlist /app/static
USER sortlist

EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).status == 200 else 1)"]

CMD ["python", "-m", "sortlist_app.server.serve", "--server.port=8501", "--server.address=0.0.0.0"]
