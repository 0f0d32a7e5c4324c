//! Tiếng Việt (Vietnamese).
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "Thành phố Yukuhashi",
        ServerTrouble => "Xin lỗi, đã xảy ra sự cố. Vui lòng thử lại sau ít phút.",
        NotFound => "Không tìm thấy trang này.",
        Back => "Quay lại",
        // Registration
        FieldRequired => "Vui lòng nhập “{field}”.",
        // Chat
        CallTheCity => "Để hỏi qua điện thoại, hãy gọi Tòa thị chính Yukuhashi ({number}).",
        // Emergency
        EmergencyHeading => "Thông tin khẩn cấp",
        // Notices and surveys
        StopNotices => "Ngừng nhận thông báo",
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "Cảnh báo đặc biệt tại thành phố Yukuhashi",
        JmaSpecialWarningBody => {
            "Cơ quan Khí tượng Nhật Bản đã phát cảnh báo đặc biệt: nguy hiểm chưa từng có. Hãy hành động ngay để bảo vệ tính mạng. (JMA, {time})"
        }
        JmaWarningTitle => "Cảnh báo thời tiết tại thành phố Yukuhashi",
        JmaWarningBody => {
            "Có thể xảy ra thiên tai. Hãy theo dõi thông tin mới nhất và sớm đến nơi an toàn. (JMA, {time})"
        }
        JmaAdvisoryTitle => "Chú ý thời tiết tại thành phố Yukuhashi",
        JmaAdvisoryBody => "Hãy cẩn thận với thiên tai có thể xảy ra. (JMA, {time})",
        JmaLandslideTitle => "Cảnh báo sạt lở đất tại thành phố Yukuhashi",
        JmaLandslideBody => {
            "Nguy cơ sạt lở đất rất cao. Nếu bạn ở gần sườn dốc hoặc núi, hãy sơ tán đến nơi an toàn ngay. (JMA, {time})"
        }
        JmaRecordRainTitle => "Mưa lớn kỷ lục tại thành phố Yukuhashi",
        JmaRecordRainBody => {
            "Đang có mưa cực lớn. Hãy tránh xa sông và sườn dốc, bảo vệ tính mạng. (JMA, {time})"
        }
        JmaFloodTitle => "Dự báo lũ sông tại thành phố Yukuhashi",
        JmaFloodBody => {
            "Sông {river} có thể tràn bờ. Người sống gần sông hãy sơ tán đến nơi an toàn. (JMA, {time})"
        }
        JmaLiftedTitle => "Đã dỡ bỏ cảnh báo thời tiết (thành phố Yukuhashi)",
        JmaLiftedBody => {
            "Lúc {time}, Cơ quan Khí tượng Nhật Bản đã dỡ bỏ thông tin sau cho thành phố Yukuhashi: {kinds}."
        }
        JmaCancelledTitle => "Thông tin thời tiết đã bị hủy (thành phố Yukuhashi)",
        JmaCancelledBody => {
            "Cơ quan Khí tượng Nhật Bản đã hủy thông tin gửi trước đó. (JMA, {time})"
        }
    }
}
