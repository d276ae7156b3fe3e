//! The background work: the refresher that lists on an interval (and only when the
//! backend's change token moved), the one stats stream, and the tasks an [`Action`] starts.
//! They send [`Message`]s; none of them touches the state or awaits the UI.
use std::sync::Arc;
use std::time::Duration;

use berth_engine::api::{ContainerBackend, ContainerListOptions, ImageListOptions, PullOptions, StatsSample};
use berth_engine::multi::MultiBackend;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::message::{Action, ContainerOp, Message};

fn now() -> i64 {
    berth_engine::human::now_unix()
}

/// Lists on an interval (and at once when notified), sending only results; a slow
/// backend delays the next refresh, never the render. When the backend has a change token
/// (the embedded engine: a stat of its database) and it did not move, the lists are not
/// asked for, except as often as their status texts age (see [`recheck_after`]). The host
/// overview is asked for less often (it changes slowly), and not again once the backend
/// says it cannot.
pub fn spawn_refresher(
    backend: Arc<dyn ContainerBackend>,
    multi: Option<Arc<MultiBackend>>,
    tx: mpsc::Sender<Message>,
    notify: Arc<Notify>,
    every: Duration,
) -> JoinHandle<()> {
    use tokio::time::Instant;
    tokio::spawn(async move {
        let mut info_ok = true;
        let mut last_scope = None;
        let mut last_token = None;
        let mut listed: Option<(Instant, Duration)> = None;
        let mut info_at: Option<Instant> = None;
        let mut forced = true;
        loop {
            // Read before listing: a change made during the list is seen next round.
            let token = backend.change_token();
            let due =
                forced || token.is_none() || token != last_token || listed.is_none_or(|(at, recheck)| at.elapsed() + every / 2 >= recheck);
            forced = false;
            if due {
                last_token = token;
                let containers = backend.list_containers(&ContainerListOptions { all: true }).await.map_err(|e| e.to_string());
                let recheck = containers.as_ref().map(|l| recheck_after(l, every)).unwrap_or(every);
                listed = Some((Instant::now(), recheck));
                if tx.send(Message::Containers(containers)).await.is_err() {
                    return;
                }
                let images = backend.list_images(&ImageListOptions::default()).await.map_err(|e| e.to_string());
                if tx.send(Message::Images(images)).await.is_err() {
                    return;
                }
                // Volumes change with the same database (the token covers them). A backend
                // without volumes shows an empty list, not an error every second.
                let volumes = match backend.list_volumes(&Default::default()).await {
                    Err(berth_engine::api::EngineError::Unsupported(_)) => Ok(vec![]),
                    r => r.map_err(|e| e.to_string()),
                };
                if tx.send(Message::Volumes(volumes)).await.is_err() {
                    return;
                }
                let networks = match backend.list_networks().await {
                    Err(berth_engine::api::EngineError::Unsupported(_)) => Ok(vec![]),
                    r => r.map_err(|e| e.to_string()),
                };
                if tx.send(Message::Networks(networks)).await.is_err() {
                    return;
                }
            }
            if let Some(m) = &multi
                && tx.send(Message::Endpoints(m.endpoints())).await.is_err()
            {
                return;
            }
            // Several endpoints: the overview follows the one in view (asked again at once
            // after a switch), and one endpoint failing it does not end the asking.
            let scope = multi.as_ref().map(|m| m.current());
            let switched = scope != last_scope;
            last_scope = scope;
            let info_age = info_at.map(|t| t.elapsed());
            let info_due = info_age.is_none_or(|a| a >= Duration::from_secs(60) || (due && a >= Duration::from_secs(10)));
            if (info_ok || multi.is_some()) && (info_due || switched) {
                let info = backend.system_info().await.map_err(|e| e.to_string());
                info_ok = info.is_ok();
                info_at = Some(Instant::now());
                let _ = tx.send(Message::Info(info)).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = notify.notified() => forced = true,
            }
        }
    })
}

/// How long a containers list stays true when nothing is written: its status texts age
/// ("Up 5 seconds" changes every second, "Up 3 minutes" every minute, "Up 2 hours" every
/// hour). Minutes are looked at every 10 s (a text at most 10 s late), hours every minute.
fn recheck_after(list: &[berth_engine::api::ContainerSummary], every: Duration) -> Duration {
    let has = |w: &str| list.iter().any(|c| c.status.contains(w));
    if has("second") {
        every
    } else if has("minute") {
        Duration::from_secs(10).max(every)
    } else {
        Duration::from_secs(60).max(every)
    }
}

/// ONE stats stream for every running container. Batches are `try_send`: when the UI is
/// behind, a batch is dropped rather than queued. An error is reported and the stream
/// kept (several endpoints: one failing endpoint's error, the others go on); a stream that
/// ended is opened again slowly.
pub fn spawn_stats(backend: Arc<dyn ContainerBackend>, tx: mpsc::Sender<Message>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(pump_stats(move || backend.stats(vec![], every), tx, Duration::from_secs(10)))
}

/// The body of the stats task, apart from the backend so the drop-never-stall rule is
/// testable with a fake stream. Returns when the UI is gone.
async fn pump_stats<F>(open: F, tx: mpsc::Sender<Message>, retry: Duration)
where
    F: Fn() -> BoxStream<'static, berth_engine::api::Result<Vec<StatsSample>>>,
{
    loop {
        let mut stream = open();
        while let Some(item) = stream.next().await {
            let msg = match item {
                Ok(samples) => Message::Stats { samples, now: now() },
                Err(e) => Message::StatsError(e.to_string()),
            };
            if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(msg) {
                return;
            }
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(retry).await;
    }
}

async fn container_op(backend: &dyn ContainerBackend, op: ContainerOp, id: &str) -> berth_engine::api::Result<()> {
    match op {
        ContainerOp::Start => backend.start_container(id).await,
        ContainerOp::Stop => backend.stop_container(id, None).await,
        ContainerOp::Restart => backend.restart_container(id, None).await,
        ContainerOp::Kill => backend.kill_container(id, "KILL").await,
        ContainerOp::Pause => backend.pause_container(id).await,
        ContainerOp::Unpause => backend.unpause_container(id).await,
        ContainerOp::Remove => backend.remove_container(id, true).await,
    }
}

pub fn run_action(a: Action, backend: Arc<dyn ContainerBackend>, tx: mpsc::Sender<Message>, refresh: Arc<Notify>) {
    tokio::spawn(async move {
        let msg = match a {
            // Handled by the loop (it holds the endpoints and the sessions); a refresh follows.
            Action::Refresh | Action::SetEndpoint(_) | Action::OpenSession { .. } => None,
            Action::Containers(op, ids) => {
                // Stop/kill several at once; the list refreshes as each finishes.
                let results = futures_util::future::join_all(ids.iter().map(|id| {
                    let (backend, refresh) = (backend.clone(), refresh.clone());
                    async move {
                        let r = container_op(backend.as_ref(), op, id).await;
                        refresh.notify_one();
                        r.map_err(|e| format!("{} {}: {e}", op.verb(), crate::ctx::id_label(id)))
                    }
                }))
                .await;
                let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
                Some(Message::Done(if errors.is_empty() { Ok(()) } else { Err(errors.join("\n")) }))
            }
            Action::Rename { id, name } => {
                Some(Message::Done(backend.rename_container(&id, &name).await.map_err(|e| format!("rename: {e}"))))
            }
            Action::Commit { id, reference } => {
                let opts = berth_engine::api::CommitOptions { reference: Some(reference.clone()), pause: true, ..Default::default() };
                let r = backend.commit_container(&id, &opts).await;
                refresh.notify_one();
                Some(Message::Committed(r.map(|image| (image, reference)).map_err(|e| format!("commit: {e}"))))
            }
            Action::Run(spec) => {
                let r = async {
                    let id = backend.create_container(&spec).await?;
                    refresh.notify_one();
                    backend.start_container(&id).await
                }
                .await;
                Some(Message::Done(r.map_err(|e| format!("run {}: {e}", spec.image))))
            }
            Action::RemoveImage(name) => Some(Message::Removed(backend.remove_image(&name, false).await.map_err(|e| e.to_string()))),
            Action::PruneImages => Some(Message::Pruned(backend.prune_images(false).await.map_err(|e| e.to_string()))),
            Action::RemoveVolume(name) => {
                let r = backend.remove_volume(&name, false).await.map(|()| format!("Removed volume {name}"));
                refresh.notify_one();
                Some(Message::VolumesChanged(r.map_err(|e| e.to_string())))
            }
            Action::PruneVolumes => {
                let r = backend.prune_volumes(false).await.map(|r| {
                    format!("Pruned {} volume(s), reclaimed {}", r.removed.len(), berth_engine::human::human_size(r.space_reclaimed))
                });
                refresh.notify_one();
                Some(Message::VolumesChanged(r.map_err(|e| e.to_string())))
            }
            Action::CreateNetwork(name) => {
                let o = berth_engine::api::NetworkCreate { name: name.clone(), ..Default::default() };
                let r = backend
                    .create_network(&o)
                    .await
                    .map(|n| format!("Created network {name} ({})", n.ipam.config.first().map(|c| c.subnet.as_str()).unwrap_or("")));
                refresh.notify_one();
                Some(Message::NetworksChanged(r.map_err(|e| e.to_string())))
            }
            Action::RemoveNetwork(name) => {
                let r = backend.remove_network(&name).await.map(|()| format!("Removed network {name}"));
                refresh.notify_one();
                Some(Message::NetworksChanged(r.map_err(|e| e.to_string())))
            }
            Action::PruneNetworks => {
                let r = backend.prune_networks().await.map(|r| format!("Pruned {} network(s)", r.removed.len()));
                refresh.notify_one();
                Some(Message::NetworksChanged(r.map_err(|e| e.to_string())))
            }
            Action::ConnectNetwork { network, container } => {
                let o = berth_engine::api::NetworkConnect { container: container.clone(), ..Default::default() };
                let r = backend.connect_network(&network, &o).await.map(|()| format!("Connected {container} to {network}"));
                refresh.notify_one();
                Some(Message::NetworksChanged(r.map_err(|e| e.to_string())))
            }
            Action::DisconnectNetwork { network, container } => {
                let r = backend
                    .disconnect_network(&network, &container, false)
                    .await
                    .map(|()| format!("Disconnected {container} from {network}"));
                refresh.notify_one();
                Some(Message::NetworksChanged(r.map_err(|e| e.to_string())))
            }
            Action::History(image) => {
                let result = backend.image_history(&image).await.map_err(|e| e.to_string());
                Some(Message::History { image, result })
            }
            Action::Pull(reference) => {
                let mut stream = backend.pull_image(&reference, PullOptions::default());
                while let Some(ev) = stream.next().await {
                    if tx.send(Message::Pull(ev.map_err(|e| e.to_string()))).await.is_err() {
                        return;
                    }
                }
                None
            }
        };
        if let Some(m) = msg {
            let _ = tx.send(m).await;
        }
        refresh.notify_one();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(i: usize) -> Vec<StatsSample> {
        vec![StatsSample { id: "c".into(), cpu_percent: i as f64, ..StatsSample::default() }]
    }

    #[test]
    fn lists_are_asked_for_again_as_often_as_their_status_texts_age() {
        let c = |status: &str| berth_engine::api::ContainerSummary {
            id: "1".into(),
            name: "a".into(),
            image: "busybox".into(),
            image_id: String::new(),
            command: "sh".into(),
            created: 0,
            state: "running".into(),
            status: status.into(),
            exit_code: 0,
            labels: Default::default(),
            ports: vec![],
        };
        let every = Duration::from_secs(1);
        assert_eq!(recheck_after(&[c("Up 2 hours"), c("Up 5 seconds")], every), every);
        assert_eq!(recheck_after(&[c("Up 2 hours"), c("Exited (0) 3 minutes ago")], every), Duration::from_secs(10));
        assert_eq!(recheck_after(&[c("Up 2 hours"), c("Created")], every), Duration::from_secs(60));
        assert_eq!(recheck_after(&[], Duration::from_secs(90)), Duration::from_secs(90));
    }

    #[tokio::test]
    async fn stats_are_dropped_when_the_ui_is_behind_never_queued() {
        let (tx, mut rx) = mpsc::channel::<Message>(4);
        let open = || futures_util::stream::iter((0..1000).map(|i| Ok(batch(i)))).boxed();
        // Nobody reads while 1000 batches arrive: the task must not wait for the reader.
        let task = tokio::spawn(pump_stats(open, tx, Duration::from_secs(3600)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut got = vec![];
        while let Ok(m) = rx.try_recv() {
            got.push(m);
        }
        assert_eq!(got.len(), 4, "the channel's bound, the rest dropped");
        assert!(matches!(&got[0], Message::Stats { samples, .. } if samples[0].cpu_percent == 0.0));
        // Nothing was left waiting to be delivered: a blocking send would deliver batch 4 now.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err(), "a stale batch was queued behind the full channel");
        drop(rx);
        task.abort();
    }

    #[tokio::test]
    async fn a_failed_stream_is_reported_and_retried_and_the_task_ends_with_the_ui() {
        let (tx, mut rx) = mpsc::channel::<Message>(16);
        let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let o = opened.clone();
        let open = move || {
            o.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            futures_util::stream::iter(vec![Ok(batch(1)), Err(berth_engine::api::EngineError::Unsupported("stats".into()))]).boxed()
        };
        let task = tokio::spawn(pump_stats(open, tx, Duration::from_millis(10)));
        assert!(matches!(rx.recv().await, Some(Message::Stats { .. })));
        assert!(matches!(rx.recv().await, Some(Message::StatsError(e)) if e.contains("stats")));
        assert!(matches!(rx.recv().await, Some(Message::Stats { .. })), "retried after the error");
        drop(rx);
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("the task ends once the UI is gone").unwrap();
        assert!(opened.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    }
}
