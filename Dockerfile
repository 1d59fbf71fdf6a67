# smk8s controller-manager image: `make docker-build` (docker build -t smk8s:0.1.0 .).
#
# The base is pinned by version. Pin it by digest as well when you build (python:3.11.14-slim-bookworm@sha256:...):
# the digest could not be looked up where this file was written (no registry access).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Stage 1: build the smk8s wheel from the source tree (nothing of this stage reaches the final image).
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-deps --wheel-dir /wheels .

# Stage 2: install the wheel and its runtime dependencies (no dev extras) into a virtual environment.
FROM ${PYTHON_IMAGE} AS install
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN python -m venv /opt/smk8s \
    && /opt/smk8s/bin/pip install /wheels/*.whl \
    && /opt/smk8s/bin/pip uninstall --yes pip

# Stage 3: the runtime: the same pinned base, the virtual environment, a non-root numeric user.
FROM ${PYTHON_IMAGE}
COPY --from=install /opt/smk8s /opt/smk8s
# No bytecode written at run time (the root filesystem is read-only in the Deployment); logs unbuffered.
ENV PATH=/opt/smk8s/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# 65532: the conventional "nonroot" uid/gid; numeric, so runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
EXPOSE 8081
ENTRYPOINT ["smk8s", "manager"]
