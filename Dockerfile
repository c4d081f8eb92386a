# Builds a static phonestart binary and runs it as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/phonestart ./cmd/phonestart

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/phonestart /usr/local/bin/phonestart
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/phonestart"]
CMD ["worker"]
