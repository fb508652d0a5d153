//! ECS paging against a scripted endpoint (moto does not page).

use super::*;

/// A scripted ECS endpoint (JSON 1.1 protocol over HTTP/1.1 keep-alive):
/// moto returns ListTasks in one page and takes any number of tasks per
/// DescribeTasks, so the page loop and the batches of 100 are proven here,
/// against replies shaped as ECS sends them. Records (target, request body).
async fn scripted_ecs(
    running: usize,
) -> (
    String,
    Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let arn = |i: usize| format!("arn:aws:ecs:us-east-1:123456789012:task/bots/{i:032x}");
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                loop {
                    let (mut target, mut len) = (String::new(), 0usize);
                    loop {
                        let mut line = String::new();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        let (k, v) = line.split_once(':').unwrap_or((line, ""));
                        match k.to_ascii_lowercase().as_str() {
                            "x-amz-target" => target = v.trim().to_string(),
                            "content-length" => len = v.trim().parse().unwrap_or(0),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).await.unwrap();
                    let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    log.lock().unwrap().push((target.clone(), req.clone()));
                    let reply = if target.ends_with(".ListTasks") {
                        if req["desiredStatus"] == "STOPPED" {
                            serde_json::json!({"taskArns": []})
                        } else {
                            let from: usize = req["nextToken"]
                                .as_str()
                                .map(|t| t.parse().unwrap())
                                .unwrap_or(0);
                            let to = (from + 100).min(running);
                            let mut page = serde_json::json!({
                                "taskArns": (from..to).map(arn).collect::<Vec<_>>()
                            });
                            if to < running {
                                page["nextToken"] = to.to_string().into();
                            }
                            page
                        }
                    } else {
                        let tasks: Vec<_> = req["tasks"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|a| {
                                serde_json::json!({
                                    "taskArn": a, "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                                    "tags": [{"key": "berth:managed-by", "value": "berth"},
                                             {"key": "berth:epoch", "value": "1"}],
                                    "containers": []
                                })
                            })
                            .collect();
                        serde_json::json!({"tasks": tasks, "failures": []})
                    };
                    let text = reply.to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
                        text.len()
                    );
                    let sock = r.get_mut();
                    sock.write_all(head.as_bytes()).await.unwrap();
                    sock.write_all(text.as_bytes()).await.unwrap();
                }
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn ecs_list_follows_next_tokens_and_describes_in_batches_of_100() {
    let (url, seen) = scripted_ecs(250).await;
    let get = lookup(vec![
        ("ECS_REGION", "us-east-1".into()),
        ("ECS_CLUSTER", "bots".into()),
        ("ECS_SUBNETS", "subnet-1".into()),
        ("ECS_TASK_DEFINITION", "bot".into()),
        ("ECS_ENDPOINT_URL", url),
    ]);
    let creds = Credentials::new("AKIDBERTHTEST", SECRET, None, None, "test");
    let ecs = EcsPlatform::connect(EcsSettings::parse(&get).unwrap(), Some(creds), fast()).await;
    let listed = ecs.list().await.unwrap();
    assert_eq!(listed.len(), 250);
    assert!(listed
        .iter()
        .all(|w| w.state == WorkloadState::Running && w.epoch == Some(1)));

    let seen = seen.lock().unwrap().clone();
    let running_pages: Vec<_> = seen
        .iter()
        .filter(|(t, r)| t.ends_with(".ListTasks") && r["desiredStatus"] == "RUNNING")
        .map(|(_, r)| r["nextToken"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        running_pages,
        [None, Some("100".to_string()), Some("200".to_string())],
        "every page requested with the previous page's token"
    );
    let batches: Vec<usize> = seen
        .iter()
        .filter(|(t, _)| t.ends_with(".DescribeTasks"))
        .map(|(_, r)| r["tasks"].as_array().unwrap().len())
        .collect();
    assert_eq!(batches, [100, 100, 50]);
}
