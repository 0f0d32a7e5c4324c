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
        ChooseLanguage => "Vui lòng chọn ngôn ngữ.\nことばを選んでください。",
        Statement => {
            "Đăng ký nhận thông báo của thành phố Yukuhashi\nKhi đăng ký khu vực, độ tuổi, lĩnh vực quan tâm và ngôn ngữ, chúng tôi sẽ gửi các thông báo phù hợp của thành phố \
             (nuôi con, chăm sóc người cao tuổi, rác, phòng chống thiên tai, sự kiện…) qua tài khoản này. Thông tin chỉ dùng để chọn người nhận thông báo; \
             bạn có thể thay đổi hoặc xóa bất cứ lúc nào bằng 「設定」. 「配信停止」 để dừng thông báo (thông tin khẩn cấp khi thiên tai vẫn được gửi).\nBạn đồng ý và đăng ký chứ?"
        }
        Agree => "Đồng ý",
        Decline => "Để sau",
        Declined => {
            "Bạn chưa đăng ký. Bạn vẫn có thể hỏi thành phố bằng tin nhắn và đăng ký bất cứ lúc nào bằng 「設定」."
        }
        ChooseDistrict => "Vui lòng chọn khu vực bạn sống (khu trường tiểu học).",
        NextPage => "Tiếp",
        ChooseAge => "Vui lòng chọn độ tuổi của bạn.",
        AgeUnder20 => "Dưới 20 tuổi",
        NoAnswer => "Không trả lời",
        ChooseInterests => {
            "Chọn các lĩnh vực bạn quan tâm (chọn bao nhiêu cũng được), sau đó nhấn Xong."
        }
        DoneButton => "Xong",
        Completed => "Bạn đã đăng ký xong. Cảm ơn bạn!",
        CurrentSettings => "Cài đặt hiện tại",
        DistrictLabel => "Khu vực",
        AgeLabel => "Độ tuổi",
        InterestsLabel => "Quan tâm",
        LanguageLabel => "Ngôn ngữ",
        NoticesLabel => "Thông báo",
        NoticesOn => "Nhận",
        NoticesPaused => "đã dừng (vẫn nhận tin khẩn cấp)",
        NotSet => "chưa đặt",
        ChangeDistrict => "Đổi khu vực",
        ChangeAge => "Đổi độ tuổi",
        ChangeInterests => "Đổi quan tâm",
        ChangeLanguage => "Ngôn ngữ / 言語",
        Pause => "Dừng thông báo",
        Resume => "Nhận lại thông báo",
        MoreSettings => "Cài đặt khác",
        PausedNow => {
            "Đã dừng thông báo. Thông tin khẩn cấp khi thiên tai vẫn được gửi. Gửi 「配信再開」 để nhận lại."
        }
        ResumedNow => "Bạn sẽ nhận lại thông báo.",
        SettingsHint => "Gửi 「設定」 để thay đổi cài đặt.",
        PageTitle => "Nhận thông báo từ thành phố Yukuhashi",
        WebIntro => {
            "Đăng ký khu vực, độ tuổi, lĩnh vực quan tâm và ngôn ngữ để nhận các thông báo phù hợp của thành phố qua e-mail hoặc thông báo trên thiết bị này. Thông tin chỉ dùng để chọn người nhận; bạn có thể thay đổi hoặc xóa bất cứ lúc nào. Thông tin khẩn cấp cũng sẽ được gửi."
        }
        EmailLabel => "Địa chỉ e-mail",
        PushLabel => "hoặc nhận thông báo trên thiết bị này",
        PushButton => "Cho phép thông báo",
        PushReady => "Thiết bị này có thể nhận thông báo.",
        BirthYearLabel => "Năm sinh (không bắt buộc, thay cho độ tuổi)",
        ConsentLabel => "Tôi đồng ý với nội dung trên",
        SubmitButton => "Đăng ký",
        FixErrors => "Vui lòng kiểm tra thông tin đã nhập.",
        CheckEmail => {
            "Chúng tôi đã gửi e-mail xác nhận. Mở liên kết trong e-mail trong vòng 7 ngày để hoàn tất đăng ký."
        }
        Registered => "Đã đăng ký.",
        Confirmed => "Địa chỉ e-mail đã được xác nhận, bạn đã đăng ký xong.",
        InvalidLink => "Liên kết này không hợp lệ.",
        ExpiredLink => "Liên kết này đã hết hạn. Vui lòng đăng ký lại.",
        PrefsTitle => "Cài đặt thông báo",
        Topics => "Lĩnh vực nhận thông báo",
        Quiet => "Giờ không nhận thông báo",
        QuietNone => "không đặt",
        PausedLabel => "Dừng thông báo (vẫn nhận tin khẩn cấp)",
        SaveButton => "Lưu",
        Saved => "Đã lưu.",
        DeleteAll => "Xóa toàn bộ dữ liệu của tôi",
        Deleted => "Toàn bộ dữ liệu của bạn đã bị xóa.",
        ConfirmSubject => "[TP Yukuhashi] Xác nhận đăng ký nhận thông báo",
        ConfirmBody => {
            "Chúng tôi đã nhận đăng ký nhận thông báo của TP Yukuhashi. Mở liên kết sau trong vòng 7 ngày để hoàn tất. Nếu không phải bạn, hãy bỏ qua e-mail này."
        }
        ChooseOne => "Hãy chọn",
        ChannelNeeded => "Nhập địa chỉ e-mail hoặc cho phép thông báo trên thiết bị này.",
        AgeTwenties => "20–29 tuổi",
        AgeThirties => "30–39 tuổi",
        AgeForties => "40–49 tuổi",
        AgeFifties => "50–59 tuổi",
        AgeSixties => "60–69 tuổi",
        AgeSeventies => "70–79 tuổi",
        AgeEightyPlus => "Từ 80 tuổi",
        DistrictInvalid => "Vui lòng chọn khu vực bạn sống trong danh sách.",
        BirthYearInvalid => "Vui lòng nhập năm sinh từ 1900 đến {latest} (ví dụ: 1985).",
        AgeBandInvalid => "Vui lòng chọn độ tuổi trong danh sách.",
        InterestInvalid => "Vui lòng chọn lĩnh vực quan tâm trong danh sách.",
        LanguageInvalid => "Vui lòng chọn ngôn ngữ trong danh sách.",
        EmailInvalid => "Địa chỉ e-mail không đúng. Vui lòng nhập theo dạng name@example.jp.",
        PushInvalid => {
            "Không thể đăng ký thông báo cho thiết bị này. Hãy nhấn “Cho phép thông báo” lần nữa hoặc đăng ký bằng e-mail."
        }
        ConsentNeeded => "Để đăng ký, vui lòng đọc phần giải thích ở trên và đánh dấu ô đồng ý.",
        QuietInvalid => "Vui lòng nhập giờ không nhận thông báo theo dạng 22:00.",
        SentTo => "Chúng tôi đã gửi e-mail xác nhận đến {email}.",
        SentToNext => {
            "Mở liên kết trong e-mail trong vòng 7 ngày để hoàn tất đăng ký; sau đó bạn sẽ nhận được thông báo. Nếu không nhận được e-mail, hãy kiểm tra thư mục thư rác, hoặc sửa địa chỉ và đăng ký lại."
        }
        ChangeAddress => "Sửa địa chỉ e-mail",
        AskInChat => "Hỏi thành phố qua trò chuyện",
        ToCitySite => "Trang web thành phố Yukuhashi",
        RegisteredNext => {
            "Từ nay thông báo sẽ đến thiết bị này. Để thay đổi cài đặt hoặc dừng thông báo, hãy dùng liên kết cài đặt trong thông báo."
        }
        ConfirmedNext => {
            "Từ nay, các thông báo phù hợp của thành phố sẽ được gửi qua e-mail. Để thay đổi cài đặt hoặc dừng thông báo, hãy dùng liên kết cài đặt trong e-mail."
        }
        PushDenied => {
            "Thông báo của trang này đang bị chặn. Hãy cho phép thông báo trong trình duyệt (biểu tượng ổ khóa cạnh địa chỉ hoặc cài đặt trình duyệt), rồi nhấn lại nút. Bạn cũng có thể đăng ký bằng e-mail."
        }
        PushUnsupported => {
            "Trình duyệt này không nhận được thông báo. Vui lòng đăng ký bằng e-mail."
        }
        PushFailed => {
            "Không thiết lập được thông báo. Hãy đợi một lát rồi nhấn lại, hoặc đăng ký bằng e-mail."
        }
        // Chat
        CallTheCity => "Để hỏi qua điện thoại, hãy gọi Tòa thị chính Yukuhashi ({number}).",
        ChatTitle => "Trò chuyện hỏi đáp của TP Yukuhashi",
        ChatIntro => "Chúng tôi trả lời câu hỏi của bạn dựa trên mục hỏi đáp thường gặp (24 giờ).",
        ChatWelcome => {
            "Xin chào. Đây là trò chuyện hỏi đáp của TP Yukuhashi. Hãy nhập điều bạn muốn biết, ví dụ “giấy chứng nhận cư trú” hoặc “cách bỏ rác cỡ lớn”."
        }
        ChatLogLabel => "Cuộc trò chuyện",
        ChatQuestionLabel => "Câu hỏi của bạn",
        ChatPlaceholder => "Ví dụ: giấy chứng nhận cư trú",
        ChatSend => "Gửi",
        ChatConnecting => "Đang kết nối…",
        ChatIdle => "Trò chuyện tạm dừng vì lâu không dùng. Gửi câu hỏi để tiếp tục.",
        ChatReconnecting => "Mất kết nối. Đang kết nối lại…",
        ChatCannotConnect => {
            "Hiện không kết nối được (quá tải hoặc mở quá nhiều trang). Sẽ tự kết nối lại sau ít phút."
        }
        CityHours => "ngày thường 8:30–17:15",
        ChatNote => {
            "Việc riêng hoặc khẩn cấp, hãy gọi Tòa thị chính Yukuhashi ({number}, {hours})."
        }
        Helpful => "Hữu ích",
        NotHelpful => "Không hữu ích",
        FeedbackQuestion => "Câu trả lời này có hữu ích không",
        NoneOfThese => "Không cái nào",
        ChoicesLabel => "Lựa chọn",
        WhichOne => "Câu nào gần nhất với câu hỏi của bạn? Hãy chọn một.",
        Department => "Bộ phận phụ trách: {department}",
        MoreInfo => "Thông tin chi tiết (trang web thành phố)",
        NoticeHeading => "Thông báo",
        SafetyLabel => "Báo tình trạng an toàn",
        AnswerInJapanese => "Câu trả lời này chỉ có bằng tiếng Nhật.",
        NoAnswerFound => "Xin lỗi, chúng tôi không tìm thấy câu trả lời phù hợp.",
        NextStepsHeading => "Bạn có thể thử cách sau:",
        NextRephrase => "Hỏi lại ngắn gọn bằng từ khác (ví dụ: “trợ cấp nhi đồng đăng ký”)",
        NextCall => "Gọi điện: Tòa thị chính Yukuhashi {number} ({hours})",
        NextContactForm => "Liên hệ qua trang web thành phố",
        ThanksHelpful => "Cảm ơn phản hồi của bạn. Rất vui vì đã giúp được bạn.",
        ThanksNotHelpful => "Cảm ơn bạn; chúng tôi sẽ dùng ý kiến này để cải thiện câu trả lời.",
        TextPlease => "Vui lòng gửi câu hỏi bằng chữ, ví dụ: “giấy chứng nhận cư trú”.",
        QuestionEmpty => "Vui lòng nhập câu hỏi.",
        QuestionTooLong => "Vui lòng nhập câu hỏi dưới {max} ký tự.",
        TooManyMessages => {
            "Bạn đã gửi quá nhiều tin nhắn. Vui lòng đợi khoảng {seconds} giây rồi thử lại."
        }
        LineGreeting => {
            "Cảm ơn bạn đã kết bạn với TP Yukuhashi.\nChúng tôi trả lời 24 giờ các câu hỏi về dịch vụ của thành phố (giấy chứng nhận cư trú, phân loại rác, nuôi con, chăm sóc, thuế, phòng chống thiên tai…): hãy gửi câu hỏi bằng tin nhắn.\nKhi đăng ký độ tuổi, khu vực và lĩnh vực quan tâm, bạn sẽ nhận được thông báo phù hợp và tin khẩn cấp khi có thiên tai. Đăng ký bằng các nút sau đây, hoặc gửi 「設定」 bất cứ lúc nào.\nViệc riêng hoặc khẩn cấp, hãy gọi Tòa thị chính Yukuhashi ({number})."
        }
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
