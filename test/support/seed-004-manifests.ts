// Seed 004's probe Deployment (container-probes.yaml), with the probes' port as the seed edits it:
// 8081 (wrong, probes fail) and then 8080.
export const probeDeployment = (port: number): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello-world
spec:
  replicas: 1
  selector:
    matchLabels:
      app: hello-world
  template:
    metadata:
      labels:
        app: hello-world
    spec:
      containers:
      - name: hello-world
        image: gcr.io/google-samples/hello-app:1.0
        ports:
        - containerPort: 8080
        livenessProbe:
          tcpSocket:
            port: ${port}
          initialDelaySeconds: 10
          periodSeconds: 5
        readinessProbe:
          httpGet:
            path: /
            port: ${port}
          initialDelaySeconds: 10
          periodSeconds: 5
`;
